import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Inference
import Simulation
import Logging
import Synchronization
import Testing
import TrainerKit
@testable import ServeKit

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now: Double
    init(_ start: Double) { now = start }
    var time: Double { lock.withLock { now } }
    func advance(_ s: Double) { lock.withLock { now += s } }
}

/// Fits a model on `cycles` simulated normal pump cycles (seed `seed`) and writes it to a
/// temporary file; returns its path.
func fitSimulatedModel(seed: UInt64, cycles: Int, _ configure: (inout FitSettings) -> Void) -> String {
    let sim = MachineSimulator(seed: seed)
    let data = Dataset(sensors: MachineSimulator.sensors, cycles: (0..<cycles).map { k in
        let c = sim.cycle(k)
        return Cycle(source: "n\(k)", values: c.values, rows: c.rows)
    })
    var s = FitSettings()
    configure(&s)
    let path = NSTemporaryDirectory() + "vertac-serve-model-\(UUID().uuidString).h5"
    try! Fitter.fit(data, settings: s, createdAt: "2026-11-22T00:00:00Z", trainerVersion: "test").file.write(to: path)
    return path
}

/// A small model trained on simulated normal cycles, written once for the suite.
let serverModelPath = fitSimulatedModel(seed: 1, cycles: 30) { s in
    (s.window, s.hidden, s.epochs, s.batch, s.stride, s.threads, s.patience, s.learningRate) = (16, 24, 40, 32, 2, 2, 6, 3e-3)
}

let pumpRegister = """
{"device_name": "pump-7", "sensors": [\(MachineSimulator.sensors.reversed().map { #"{"name": "\#($0)", "unit": "u"}"# }.joined(separator: ","))]}
"""

/// An in-process server with the test model, a manual clock, and a registered pump stream;
/// `body` gets the client, the server's parts, the clock and the stream id.
func withPumpServer(monitor: MonitorSettings = .init(), logger: Logger = .init(label: "test"),
                    _ body: @escaping @Sendable (any TestClientProtocol, ServerParts, ManualClock, String) async throws -> Void) async throws {
    let dir = DataDir()
    let clock = ManualClock(1_767_225_600)
    var s = settings(dir)
    s.modelPath = serverModelPath
    s.clock = { clock.time }
    s.monitor = monitor
    let parts = try await makeServerParts(s, logger: logger)
    let app = try await buildApplication(s, parts: parts)
    try await testApp(app, dir, .router) { client in
        let stream = try #require(try await client.json(.post, "/api/live/register", pumpRegister).body["stream_id"] as? String)
        try await body(client, parts, clock, stream)
    }
}

@Suite(.serialized) struct PipelineTests {
    /// Streams one simulated cycle through the HTTP API (rows in the stream's sensor order).
    static func stream(_ c: SimulatedCycle, _ stream: String, _ client: some TestClientProtocol, _ clock: ManualClock,
                       _ parts: ServerParts, t0: Double) async throws {
        let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
        #expect(try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)").status == .ok)
        var r = 0
        while r < c.rows {
            let rows = (r..<min(c.rows, r + 10)).map { k in
                #"{"timestamp": \#(t0 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
            }
            let b = try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#)
            #expect(b.status == .ok)
            clock.advance(Double(min(10, c.rows - r)))
            await parts.pipeline.flush()
            r += 10
        }
        #expect(try await client.json(.post, "/api/live/cycle/stop?stream_id=\(stream)").status == .ok)
        clock.advance(11)
        try await parts.live.tick()
        await parts.pipeline.drainReports()
    }

    @Test func normalThenFaultyCycleThroughThePipeline() async throws {
        try await withPumpServer { client, parts, clock, stream in
            let status = try await client.json(.get, "/api/live/stream/\(stream)/status")
            #expect(status.body["model_loaded"] as? Bool == true)

            let sim = MachineSimulator(seed: 2)
            try await Self.stream(sim.cycle(0), stream, client, clock, parts, t0: 1000)
            let events0 = try await parts.store.events(status: nil, stream: stream)
            #expect(events0.isEmpty, "normal cycle raised \(events0.map(\.sensor))")
            let early = try await parts.store.transitions(stream: stream, limit: 100)
            #expect(early.isEmpty, "normal cycle transitions: \(early.map { "\($0.sensor) \($0.from)→\($0.to) \($0.reason)" })")
            let cycles0 = try await parts.store.cycles(stream: stream)
            #expect(cycles0.first?.state == .stopped && cycles0.first?.healthScore != nil && cycles0.first?.anomalous == false)
            let scores = try await parts.store.scores(stream: stream, from: 0, to: .infinity)
            #expect(scores.count > 20 && scores.allSatisfy { $0.sensorScores.count == 8 })

            try await Self.stream(sim.cycle(1, fault: .drift(sensor: "outlet_pressure", amount: 0.6)), stream, client, clock, parts, t0: 2000)
            let transitions = try await parts.store.transitions(stream: stream, limit: 100)
            #expect(transitions.contains { $0.sensor == "outlet_pressure" && ($0.to == .warning || $0.to == .critical) })
            let events = try await parts.store.events(status: .open, stream: stream)
            #expect(events.contains { $0.sensor == "outlet_pressure" }, "events: \(events.map(\.sensor))")
            let states = try await parts.store.sensorStates(stream: stream)
            #expect(states.count == 8)
            let faulty = try #require(try await parts.store.cycles(stream: stream).first)
            #expect(faulty.number == 2 && faulty.reportJSON != nil && faulty.healthScore! < cycles0.first!.healthScore!)
        }
    }

    /// Sends one row of `c` (row `k`) at `time`, outside or inside a cycle as the stream is.
    static func send(_ c: SimulatedCycle, row k: Int, at time: Double, _ stream: String, _ parts: ServerParts) async throws {
        let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
        let row = #"{"timestamp": \#(time), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
        _ = try await parts.live.ingest(json: #"{"stream_id": "\#(stream)", "rows": [\#(row)]}"#)
    }

    /// A stream that keeps sending between cycles never goes STALE; one that sends nothing for
    /// the stale time does, and its next row brings it back.
    @Test func staleOnlyWhenTheStreamSendsNothing() async throws {
        try await withPumpServer { _, parts, clock, stream in
            let c = MachineSimulator(seed: 2).cycle(0)
            func states() async throws -> [SensorState] { try await parts.store.sensorStates(stream: stream).map(\.state) }
            // A row every 10 s for two minutes, no cycle started.
            for k in 0..<12 {
                try await Self.send(c, row: k, at: 1000 + Double(k), stream, parts)
                clock.advance(10)
                try await parts.live.tick()
            }
            let flowing = try await states()
            #expect(flowing.allSatisfy { $0 != .stale }, "\(flowing)")
            clock.advance(31)
            try await parts.live.tick()
            let stale = try await states()
            #expect(stale.count == 8 && stale.allSatisfy { $0 == .stale }, "\(stale)")
            try await Self.send(c, row: 12, at: 1012, stream, parts)
            let resumed = try await states()
            #expect(resumed.count == 8 && resumed.allSatisfy { $0 == .normal }, "\(resumed)")
            let back = try await parts.store.transitions(stream: stream, limit: 8)
            #expect(back.count == 8 && back.allSatisfy { $0.from == .stale && $0.to == .normal && $0.reason == "data resumed" })
        }
    }

    /// Every sensor state change is logged once, as one line with its stream, sensor, states and
    /// reason (`log.format: json` makes them fields).
    @Test func stateChangesAreLogged() async throws {
        let lines = Mutex<[String]>([])
        let sink = JSONLogHandler.Sink { line in lines.withLock { $0.append(line) } }
        let logger = Logger(label: "test") { label in JSONLogHandler(label: label, sink: sink) }
        try await withPumpServer(logger: logger) { _, parts, clock, stream in
            let c = MachineSimulator(seed: 2).cycle(0)
            try await Self.send(c, row: 0, at: 1000, stream, parts)
            clock.advance(31)
            try await parts.live.tick()
            try await Self.send(c, row: 1, at: 1001, stream, parts)
            let changes = lines.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["message"] as? String == "sensor state changed" }
            let toStale = changes.filter { $0["to"] as? String == "STALE" }
            let back = changes.filter { $0["from"] as? String == "STALE" && $0["to"] as? String == "NORMAL" }
            #expect(toStale.count == 8 && back.count == 8, "\(changes)")
            #expect(Set(toStale.compactMap { $0["sensor"] as? String }) == Set(MachineSimulator.sensors))
            #expect(changes.allSatisfy { $0["stream"] as? String == stream && $0["reason"] != nil && $0["at"] != nil })
        }
    }

    /// A maintenance window that ends on a stream that still sends returns its sensors to NORMAL;
    /// one that ends on a silent stream returns them to STALE at once (no NORMAL in between).
    @Test func maintenanceEndsInStaleOnASilentStream() async throws {
        try await withPumpServer { _, parts, clock, stream in
            let c = MachineSimulator(seed: 2).cycle(0)
            func states() async throws -> Set<SensorState> { Set(try await parts.store.sensorStates(stream: stream).map(\.state)) }
            try await Self.send(c, row: 0, at: 1000, stream, parts)
            #expect(try await parts.live.setMaintenance(stream: stream, active: true, at: clock.time))
            #expect(try await states() == [.suppressed])
            clock.advance(5)
            #expect(try await parts.live.setMaintenance(stream: stream, active: false, at: clock.time))
            #expect(try await states() == [.normal])
            #expect(try await parts.live.setMaintenance(stream: stream, active: true, at: clock.time))
            clock.advance(31)  // past the 30 s stale time with nothing sent
            try await parts.live.tick()
            #expect(try await states() == [.suppressed], "a suppressed sensor does not turn STALE")
            #expect(try await parts.live.setMaintenance(stream: stream, active: false, at: clock.time))
            #expect(try await states() == [.stale])
            let last = try await parts.store.transitions(stream: stream, limit: 8)
            #expect(last.count == 8 && last.allSatisfy { $0.from == .suppressed && $0.to == .stale && $0.reason == "maintenance window ended; no data" })
        }
    }

    /// The server judges streams by one settings value: its sample timeout, grace period and
    /// stale time hold for ingest as for scoring (not the built-in 30 s, 10 s and 30 s).
    @Test func oneSettingsValueForIngestAndScoring() async throws {
        var monitor = MonitorSettings()
        (monitor.sampleTimeout, monitor.gracePeriod, monitor.staleAfter) = (4, 2, 6)
        try await withPumpServer(monitor: monitor) { client, parts, clock, stream in
            let c = MachineSimulator(seed: 2).cycle(0)
            func cycleState() async throws -> CycleState? { try await parts.store.cycles(stream: stream).first?.state }
            #expect(try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)").status == .ok)
            try await Self.send(c, row: 0, at: 1000, stream, parts)
            clock.advance(3)
            try await parts.live.tick()
            #expect(try await cycleState() == .active)
            clock.advance(2)  // 5 s of silence: past the 4 s sample timeout
            try await parts.live.tick()
            #expect(try await cycleState() == .aborted)
            let states = try await parts.store.sensorStates(stream: stream).map(\.state)
            #expect(states.allSatisfy { $0 != .stale }, "\(states)")
            clock.advance(2)  // 7 s: past the 6 s stale time
            try await parts.live.tick()
            let stale = try await parts.store.sensorStates(stream: stream).map(\.state)
            #expect(stale.count == 8 && stale.allSatisfy { $0 == .stale }, "\(stale)")
            // A stop is final after the 2 s grace period.
            #expect(try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)").status == .ok)
            try await Self.send(c, row: 1, at: 1010, stream, parts)
            #expect(try await client.json(.post, "/api/live/cycle/stop?stream_id=\(stream)").status == .ok)
            clock.advance(1)
            try await parts.live.tick()
            #expect(try await cycleState() == .stopping)
            clock.advance(1.5)
            try await parts.live.tick()
            #expect(try await cycleState() == .stopped)
        }
    }

    @Test func streamSocketAnswersPingTakesCommandsAndBatchesAndPushes() async throws {
        try await withLiveServer { _, ids, client in
            try await client.ws("/api/live/ws/stream/\(ids[0])", configuration: .init(additionalHeaders: authHeaders())) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                try await outbound.write(.text("ping"))
                #expect(try await messages.next(ofType: "pong")["type"] as? String == "pong")
                try await outbound.write(.text("cycle_start"))
                let change = try await messages.next(ofType: "state_change")
                #expect((change["data"] as? [String: Any])?["to"] as? String == "ACTIVE")
                #expect((change["data"] as? [String: Any])?["kind"] as? String == "cycle")
                try await outbound.write(.text(#"{"rows": [{"timestamp": 5, "values": [1, 2]}]}"#))
                let ack = try await messages.next(ofType: "ack")
                #expect((ack["data"] as? [String: Any])?["rows_stored"] as? Int == 1)
                try await outbound.write(.text(#"{"rows": [{"timestamp": 6, "values": [3, 4]}]}"#))
                // Rows are pushed after their acknowledgement, in order: the first batch's push
                // may come before or after its ack, the second's after it.
                var pushed: [[Double]] = []
                while pushed.last != [3, 4], pushed.count < 3 {
                    let m = try await messages.next(ofType: "samples")
                    pushed.append(((m["data"] as? [String: Any])?["rows"] as? [[String: Any]])?.first?["values"] as? [Double] ?? [])
                }
                #expect(pushed == [[1, 2], [3, 4]] || pushed == [[3, 4]], "\(pushed)")
                try await outbound.write(.text("cycle_pause_now"))
                #expect(try await messages.next(ofType: "error")["type"] as? String == "error")
            }
            await #expect(throws: Error.self) { try await client.ws("/api/live/ws/stream/unknown") { _, _, _ in } }
        }
    }
}

@Suite(.serialized) struct ReviewFeedTests {
    @Test func reviewFeedSubscribesToStreamsAndEvents() async throws {
        try await withLiveServer(streams: 2) { parts, ids, client in
            let (a, b) = (ids[0], ids[1])
            try await client.ws("/api/v1/live", configuration: .init(additionalHeaders: authHeaders())) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                func next() async throws -> [String: Any] { try await messages.next() }
                try await outbound.write(.text("hello"))
                #expect(try await next()["type"] as? String == "error")
                try await outbound.write(.text(#"{"subscribe": ["\#(b)"], "events": true}"#))
                #expect(try await next()["type"] as? String == "subscribed")
                // Stream a is not followed; stream b is.
                _ = try await parts.live.cycleEvent(.start, stream: a, metadata: [:])
                _ = try await parts.live.cycleEvent(.start, stream: b, metadata: [:])
                let m = try await next()
                #expect(m["type"] as? String == "cycle_state" && m["stream_id"] as? String == b)
                #expect((m["data"] as? [String: Any])?["kind"] == nil)
            }
        }
    }
}
