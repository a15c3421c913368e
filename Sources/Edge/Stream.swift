import ArgumentParser
import EdgeKit
import Foundation
import Inference
import Simulation
import TrainerKit

/// `vertac-edge stream`: simulate or replay cycles into a server, through the on-disk buffer.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream simulated or replayed cycles into a VerTac server (VerTac live API), buffered on disk.",
        discussion: """
        Registers the stream, then for every cycle sends cycle_start, the rows (batched: --batch-rows rows or \
        --batch-seconds seconds, each batch with a batch_id) and cycle_stop (not after an abnormal-stop fault: \
        that cycle just goes silent, and the server aborts it after its sample timeout). Everything goes through an on-disk \
        SQLite buffer first and is retried with exponential backoff until the server acknowledges it, so an outage \
        loses nothing and a retry is never stored twice. Rows are timestamped at the source.
        """
    )

    @Option(help: "Server base URL.") var server = "http://127.0.0.1:8080"
    @Option(help: "API token with the ingest scope (default: $VERTAC_TOKEN).") var token: String?
    @Flag(help: "Stream simulated cycles.") var simulate = false
    @Option(parsing: .upToNextOption, help: "Replay these CSV files, .csv or .csv.gz (each file or cycle_id is a cycle).") var replay: [String] = []
    @Option(help: "Simulated normal cycles.") var cycles = 5
    @Option(parsing: .upToNextOption, help: "Faulty simulated cycles to add at the end (see `simulate --help`).") var faults: [String] = []
    @Option(help: "Simulation seed.") var seed: UInt64 = 2
    @Option(help: "Playback speed (1 = real time, 10 = ten times faster, 0 = as fast as possible).") var speed = 1.0
    @Option(help: "Rows per batch.") var batchRows = 10
    @Option(help: "Most seconds a batch waits to fill.") var batchSeconds = 1.0
    @Option(help: "The on-disk buffer (SQLite).") var buffer = "./vertac-edge-buffer.sqlite"
    @Option(help: "Device name to register.") var device = "vertac-edge"
    @Option(help: "websocket (with HTTP as fallback) or http.") var transport = "websocket"

    func validate() throws {
        guard simulate != !replay.isEmpty else { throw ValidationError("give --simulate or --replay FILES (one of them)") }
        guard speed >= 0, batchRows > 0, batchSeconds > 0, cycles >= 0 else { throw ValidationError("--speed ≥ 0; batch sizes and --cycles positive") }
        guard URL(string: server)?.scheme?.hasPrefix("http") == true else { throw ValidationError("--server must be an http(s) URL") }
        guard ["websocket", "http"].contains(transport) else { throw ValidationError("--transport is websocket or http") }
        for f in faults where SimulationCSV.parseFault(f) == nil { throw ValidationError("unknown fault \"\(f)\"") }
        // An abnormal stop sends no cycle_stop (the machine just goes silent and the server aborts the
        // cycle after its sample timeout), so nothing can follow it.
        if let k = faults.firstIndex(where: { $0.hasPrefix("abnormal-stop") }), k != faults.count - 1 {
            throw ValidationError("abnormal-stop leaves its cycle without a cycle_stop: put it last in --faults")
        }
    }

    func run() async throws {
        // The cycles to send: (name, sensors, rows, row offsets in seconds).
        var plan: [(name: String, values: [Float], rows: Int, times: [Double])] = []
        var sensors: [String]
        if simulate {
            sensors = MachineSimulator.sensors
            let sim = MachineSimulator(seed: seed)
            for k in 0..<cycles { let c = sim.cycle(k); plan.append(("normal \(k + 1)", c.values, c.rows, c.times)) }
            for (k, f) in faults.enumerated() {
                let c = sim.cycle(10_000 + k, fault: SimulationCSV.parseFault(f)!)
                plan.append(("fault \(f)", c.values, c.rows, c.times))
            }
        } else {
            let data = try Dataset.load(replay)
            sensors = data.sensors
            for c in data.cycles {
                let t0 = c.times?.first ?? 0
                plan.append((c.source, c.values, c.rows, c.times?.map { $0 - t0 } ?? (0..<c.rows).map(Double.init)))
            }
        }
        let url = URL(string: server.hasSuffix("/") ? server : server + "/")!
        let store = try EdgeBuffer(path: buffer)
        let uploader = Uploader(server: url, token: token ?? ProcessInfo.processInfo.environment["VERTAC_TOKEN"], buffer: store)
        let stream = try await uploader.register(deviceName: device, sensors: sensors.map { ($0, nil) })
        print("stream \(stream): \(plan.count) cycle(s), \(sensors.count) sensors, buffer \(buffer)")
        let recorder = try Recorder(buffer: store, stream: stream, batchRows: batchRows, batchSeconds: batchSeconds)
        let viaSocket = transport == "websocket"
        let sender = Task {
            while !Task.isCancelled {
                if viaSocket { try await uploader.drainPreferringWebSocket(stream: stream) } else { try await uploader.drain(stream: stream) }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        var clock = Date().timeIntervalSince1970
        let D = sensors.count
        for c in plan {
            try recorder.event("start", metadata: ["source": c.name])
            for r in 0..<c.rows {
                if speed > 0, r > 0 { try await Task.sleep(for: .seconds((c.times[r] - c.times[r - 1]) / speed)) }
                let t = speed > 0 ? Date().timeIntervalSince1970 : clock + c.times[r]
                try recorder.row(time: t, values: Array(c.values[(r * D)..<((r + 1) * D)]))
            }
            if !c.name.hasPrefix("fault abnormal-stop") { try recorder.event("stop") }
            clock += (c.times.last ?? 0) + 15
            print("  \(c.name): \(c.rows) rows queued (buffer: \(store.count) item(s))")
        }
        try recorder.flush()
        while store.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
        sender.cancel()
        print("all acknowledged (\(await uploader.transport)): \(await uploader.sent) item(s) sent, \(await uploader.retries) retr\(await uploader.retries == 1 ? "y" : "ies"), \(store.deadCount) refused")
    }
}
