import ArgumentParser
import EdgeKit
import Foundation
import Logging
import Inference
import Simulation
import WSClient
import NIOCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vertac-edge load`: many simulated streams at once; reports what the server sustains.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive many streams at once and report sustained sensor values/s and sample-to-acknowledgement latency.",
        discussion: """
        Registers --streams streams of --sensors sensors, starts a cycle on each, and sends rows at --rate rows/s per \
        stream in batches of --batch-rows (compact row form) for --duration seconds, every stream concurrently. \
        Prints acknowledged values/s, the latency from a batch's oldest sample to its acknowledgement, and — through \
        the review WebSocket, which needs an engineer or admin token — from the sample that closed a window to the \
        pushed state change it caused (p50/p99). \
        Only loopback targets make sense for load: do not point this at a server you do not own.
        """
    )

    @Option(help: "Server base URL.") var server = "http://127.0.0.1:8080"
    @Option(help: "API token with the ingest scope (default: $VERTAC_TOKEN).") var token: String?
    @Option(help: ArgumentHelp(
        "File of ingest tokens, one per line: stream n sends its batches with token n (modulo their count), as separate devices do.",
        discussion: "The server limits requests per token (500/s): one token for every stream caps what a load can offer. --token still registers the streams and reads the server's metrics."))
    var tokenFile: String?
    @Option(help: "Concurrent streams.") var streams = 10
    @Option(help: "Sensors per stream.") var sensors = 10
    @Option(help: "Rows per second per stream.") var rate = 100.0
    @Option(help: "Rows per batch.") var batchRows = 100
    @Option(help: "Seconds to run.") var duration = 10.0
    @Flag(help: "Stream the simulated pump's 8 sensors (so that a server with the pump model scores them) instead of --sensors sines.")
    var pump = false
    @Option(help: "With --pump: share of streams whose data carries current spikes, to provoke state changes.") var faultyShare = 0.25
    @Option(help: "http: POST /api/live/batch; socket: each stream's WebSocket (/api/live/ws/stream/{id}), batches as JSON text; binary: the same socket, batches as binary messages (README: binary batches).")
    var transport: LoadTransport = .http
    @Flag(help: "Print one JSON object (values_per_s, windows_per_s, ack_p50_ms, ack_p99_ms, server_ack_p99_ms, server_state_p50_ms, server_state_p99_ms, …) instead of text.")
    var json = false

    func validate() throws {
        guard streams > 0, sensors > 0, rate > 0, batchRows > 0, duration > 0, duration <= 3_600 else {
            throw ValidationError("all options must be positive (duration ≤ 1 h)")
        }
    }

    func run() async throws {
        let auth = token ?? ProcessInfo.processInfo.environment["VERTAC_TOKEN"]
        var deviceTokens: [String] = []
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw ValidationError("cannot read --token-file \(tokenFile)") }
            deviceTokens = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !deviceTokens.isEmpty else { throw ValidationError("--token-file \(tokenFile) holds no token") }
        }
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = max(8, streams)
        let session = URLSession(configuration: config)
        func get(_ path: String) async throws -> (Int, Data) {
            var r = URLRequest(url: URL(string: server + path)!)
            if let auth { r.setValue("Bearer \(auth)", forHTTPHeaderField: "Authorization") }
            let (d, resp) = try await session.data(for: r)
            return ((resp as? HTTPURLResponse)?.statusCode ?? 0, d)
        }
        /// The server's own figures (its /metrics, engineer scope), or nil when it refuses.
        func scrape() async -> PrometheusText? {
            guard let (status, data) = try? await get("/metrics"), status == 200 else { return nil }
            return PrometheusText(String(decoding: data, as: UTF8.self))
        }
        func post(_ path: String, _ body: String?, token: String? = nil) async throws -> (Int, Data) {
            var r = URLRequest(url: URL(string: server + path)!)
            r.httpMethod = "POST"
            if let t = token ?? auth { r.setValue("Bearer \(t)", forHTTPHeaderField: "Authorization") }
            r.httpBody = body.map { Data($0.utf8) }
            let (d, resp) = try await session.data(for: r)
            return ((resp as? HTTPURLResponse)?.statusCode ?? 0, d)
        }
        let names = pump ? MachineSimulator.sensors : (0..<sensors).map { "s\($0)" }
        let sensors = names.count
        let cycle = MachineSimulator(seed: 3).cycle(0)
        let faulty = MachineSimulator(seed: 3).cycle(0, fault: .spikes(sensor: "motor_current", size: 0.6))
        // State-change pushes, timed on arrival against the window's end (a sample time).
        let changes = ChangeLatencies()
        var wsURL = URLComponents(string: server)!
        wsURL.scheme = wsURL.scheme == "https" ? "wss" : "ws"
        wsURL.path = "/api/v1/live"
        if let auth { wsURL.queryItems = [URLQueryItem(name: "token", value: auth)] }
        let watcher = Task {
            try await WebSocketClient.connect(url: wsURL.string!, logger: Logger(label: "vertac-edge-load")) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"subscribe": "*", "events": true, "samples": false}"#))
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .text(let text) = message,
                          let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                          object["type"] as? String == "sensor_state",
                          let data = object["data"] as? [String: Any],
                          let time = (data["time"] as? String).flatMap(Timestamp.parse) else { continue }
                    await changes.add(Date().timeIntervalSince1970 - time)
                }
            }
        }
        defer { watcher.cancel() }
        let register = #"{"device_name": "load", "sensors": [\#(names.map { #"{"name": "\#($0)"}"# }.joined(separator: ","))]}"#
        var ids: [String] = []
        for _ in 0..<streams {
            let (status, data) = try await post("/api/live/register", register)
            guard status == 200, let id = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["stream_id"] as? String else {
                throw ValidationError("registration failed (\(status)): \(String(decoding: data, as: UTF8.self))")
            }
            ids.append(id)
            _ = try await post("/api/live/cycle/start?stream_id=\(id)", nil)
        }
        let say: (String) -> Void = json ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { print($0) }
        say("\(streams) streams × \(sensors) sensors at \(Int(rate)) rows/s each (offered \(Int(Double(streams * sensors) * rate)) values/s), batches of \(batchRows) rows, \(Int(duration)) s")
        let before = await scrape()
        let start = Date().timeIntervalSince1970
        let streamCount = ids.count
        // Each row's values as text, rendered once (the load measures the server, not this
        // process's number formatting): the pump cycles, or a period of sines.
        func rendered(_ row: (Int) -> [Float]) -> [String] { (0..<(pump ? cycle.rows : 1_000)).map { row($0).map { "\($0)" }.joined(separator: ",") } }
        let normalRows = pump ? rendered { k in Array(cycle.values[k * 8..<(k + 1) * 8]) }
            : rendered { k in (0..<sensors).map { j in Float(sin(Double(k) * 0.01 + Double(j))) } }
        let faultyRows = pump ? rendered { k in Array(faulty.values[k * 8..<(k + 1) * 8]) } : normalRows
        // The same rows as little-endian float32, for binary batches.
        func packed(_ row: (Int) -> [Float]) -> [[UInt8]] {
            (0..<(pump ? cycle.rows : 1_000)).map { k in row(k).flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }
        }
        let normalPacked = pump ? packed { k in Array(cycle.values[k * 8..<(k + 1) * 8]) }
            : packed { k in (0..<sensors).map { j in Float(sin(Double(k) * 0.01 + Double(j))) } }
        let faultyPacked = pump ? packed { k in Array(faulty.values[k * 8..<(k + 1) * 8]) } : normalPacked
        let sockets = transport != .http ? URLComponents(string: server).map { c -> URLComponents in
            var c = c
            c.scheme = c.scheme == "https" ? "wss" : "ws"
            return c
        } : nil
        let results = try await withThrowingTaskGroup(of: (values: Int, latencies: [Double], busy: Int).self) { group in
            for (n, id) in ids.enumerated() {
                let isFaulty = pump && Double(n % 100) < faultyShare * 100
                let texts = isFaulty ? faultyRows : normalRows, packedRows = isFaulty ? faultyPacked : normalPacked
                let device = deviceTokens.isEmpty ? auth : deviceTokens[n % deviceTokens.count]
                group.addTask {
                    var sent = 0, busy = 0, row = 0
                    var latencies: [Double] = []
                    let interval = Double(batchRows) / rate
                    // Streams send in turn, evenly spread over a batch interval, as machines that
                    // do not share a clock would (all at once, every batch of every stream would
                    // reach the scorer in one burst).
                    var next = start + interval * Double(n) / Double(streamCount)
                    var socket: LoadSocket?
                    if var url = sockets {
                        url.path = "/api/live/ws/stream/\(id)"
                        url.queryItems = (device.map { [URLQueryItem(name: "token", value: $0)] } ?? []) + [URLQueryItem(name: "pushes", value: "false")]
                        socket = try await LoadSocket.open(url.string!)
                    }
                    // A socket the server closed (in a cluster: the stream moved to another
                    // server) is opened again and the batch sent again.
                    func resend(_ frame: LoadFrame) async throws -> Int {
                        do {
                            return try await socket!.send(frame)
                        } catch {
                            socket?.close()
                            guard var url = sockets else { throw error }
                            url.path = "/api/live/ws/stream/\(id)"
                            url.queryItems = (device.map { [URLQueryItem(name: "token", value: $0)] } ?? []) + [URLQueryItem(name: "pushes", value: "false")]
                            try await Task.sleep(for: .milliseconds(100))
                            socket = try await LoadSocket.open(url.string!)
                            return 503
                        }
                    }
                    defer { socket?.close() }
                    while Date().timeIntervalSince1970 - start < duration {
                        let now = Date().timeIntervalSince1970
                        if now < next { try await Task.sleep(for: .seconds(next - now)) }
                        let t0 = next
                        // The batch carries the rows sampled over the last interval, newest now.
                        let status: Int
                        if transport == .binary, socket != nil {
                            var frame = Array("VTB1".utf8)
                            frame.reserveCapacity(12 + batchRows * (8 + packedRows[0].count))
                            withUnsafeBytes(of: UInt32(batchRows).littleEndian) { frame.append(contentsOf: $0) }
                            withUnsafeBytes(of: UInt16(sensors).littleEndian) { frame.append(contentsOf: $0) }
                            withUnsafeBytes(of: UInt16(0).littleEndian) { frame.append(contentsOf: $0) }
                            for k in 0..<batchRows {
                                let t = t0 - Double(batchRows - 1 - k) / rate
                                withUnsafeBytes(of: t.bitPattern.littleEndian) { frame.append(contentsOf: $0) }
                                frame.append(contentsOf: packedRows[(row + k) % packedRows.count])
                            }
                            status = try await resend(.binary(frame))
                        } else {
                            var body = #"{"stream_id": "\#(id)", "rows": ["#
                            body.reserveCapacity(batchRows * (40 + texts[0].utf8.count))
                            for k in 0..<batchRows {
                                let t = t0 - Double(batchRows - 1 - k) / rate
                                if k > 0 { body += "," }
                                body += #"{"timestamp": \#(t), "values": [\#(texts[(row + k) % texts.count])]}"#
                            }
                            body += "]}"
                            if socket != nil { status = try await resend(.text(body)) } else { status = try await post("/api/live/batch", body, token: device).0 }
                        }
                        let acked = Date().timeIntervalSince1970
                        if status == 200 || status == 409 {
                            // 409: sent again after its answer was lost (a socket closed), stored once already.
                            sent += batchRows * sensors
                            if status == 200 { latencies.append(acked - (t0 - Double(batchRows - 1) / rate)) }
                            row += batchRows
                            next += interval
                        } else if status == 503 || status == 429 {
                            busy += 1
                            try await Task.sleep(for: .milliseconds(100))
                        } else {
                            throw ValidationError("batch refused with \(status)")
                        }
                    }
                    return (sent, latencies, busy)
                }
            }
            var all: [(values: Int, latencies: [Double], busy: Int)] = []
            for try await r in group { all.append(r) }
            return all
        }
        let elapsed = Date().timeIntervalSince1970 - start
        let values = results.reduce(0) { $0 + $1.values }
        let busy = results.reduce(0) { $0 + $1.busy }
        let lat = results.flatMap(\.latencies).sorted()
        func pct(_ p: Double) -> Double? { lat.isEmpty ? nil : lat[min(lat.count - 1, Int(Double(lat.count) * p))] * 1000 }
        say(String(format: "acknowledged %.0f sensor values/s (%d values in %.1f s); sample→ack p50 %.1f ms, p99 %.1f ms; %d busy answers",
                   Double(values) / elapsed, values, elapsed, pct(0.5) ?? .nan, pct(0.99) ?? .nan, busy))
        try await Task.sleep(for: .milliseconds(500))   // the last pushes
        let after = await scrape()
        let sc = await changes.sorted()
        func p(_ q: Double) -> Double? { sc.isEmpty ? nil : sc[min(sc.count - 1, Int(Double(sc.count) * q))] * 1000 }
        if sc.isEmpty {
            say("no state change observed (use --pump so that the model scores the streams, and an engineer or admin token)")
        } else {
            say(String(format: "sample→state change (%d changes) p50 %.1f ms, p99 %.1f ms", sc.count, p(0.5)!, p(0.99)!))
        }
        // What the server measured from each batch's arrival, and the windows it scored.
        var figures: [String: Double] = [:]
        if let before, let after {
            let ack = PrometheusText.difference("vertac_batch_ack_seconds", before: before, after: after)
            let state = PrometheusText.difference("vertac_state_change_seconds", before: before, after: after)
            figures["server_ack_p50_ms"] = PrometheusText.quantile(0.5, ack).map { $0 * 1000 }
            figures["server_ack_p99_ms"] = PrometheusText.quantile(0.99, ack).map { $0 * 1000 }
            figures["server_state_p50_ms"] = PrometheusText.quantile(0.5, state).map { $0 * 1000 }
            figures["server_state_p99_ms"] = PrometheusText.quantile(0.99, state).map { $0 * 1000 }
            if let w1 = after.value("vertac_windows_scored_total") {
                figures["windows_per_s"] = (w1 - (before.value("vertac_windows_scored_total") ?? 0)) / elapsed
            }
            say(String(format: "server: %.0f windows/s scored; arrival→ack p50 %.1f ms, p99 %.1f ms; arrival→state change p50 %.1f ms, p99 %.1f ms",
                       figures["windows_per_s"] ?? .nan, figures["server_ack_p50_ms"] ?? .nan, figures["server_ack_p99_ms"] ?? .nan,
                       figures["server_state_p50_ms"] ?? .nan, figures["server_state_p99_ms"] ?? .nan))
        } else {
            say("server figures unavailable: GET /metrics needs an engineer or admin token")
        }
        if json {
            var out: [String: Any] = [
                "streams": streams, "sensors": sensors, "rate": rate, "batch_rows": batchRows, "duration_s": elapsed,
                "offered_values_per_s": Double(streams * sensors) * rate, "values_per_s": Double(values) / elapsed,
                "busy_answers": busy, "state_changes": sc.count, "rows_acknowledged": values / sensors,
            ]
            let optional: [String: Double?] = [
                "ack_p50_ms": pct(0.5), "ack_p99_ms": pct(0.99), "state_p50_ms": p(0.5), "state_p99_ms": p(0.99),
            ]
            for (k, v) in optional { out[k] = v ?? NSNull() }
            for k in ["windows_per_s", "server_ack_p50_ms", "server_ack_p99_ms", "server_state_p50_ms", "server_state_p99_ms"] {
                out[k] = figures[k] ?? NSNull()
            }
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

/// State-change latencies collected from the review WebSocket.
actor ChangeLatencies {
    private var values: [Double] = []
    func add(_ v: Double) { values.append(v) }
    func sorted() -> [Double] { values.sorted() }
}

enum LoadTransport: String, ExpressibleByArgument, CaseIterable {
    case http, socket, binary
}

/// A message `vertac-edge load` sends on a stream's socket.
enum LoadFrame: Sendable {
    case text(String)
    case binary([UInt8])
}

/// One stream's WebSocket for `vertac-edge load`: a batch out, its answer back, as HTTP statuses
/// (200 for `ack`, 503 for `busy`, 429 for `rate_limited`, 400 for any other `error`).
final class LoadSocket: @unchecked Sendable {
    private let outbound: AsyncStream<LoadFrame>.Continuation
    private let replies: AsyncStream<Int>
    private var iterator: AsyncStream<Int>.AsyncIterator
    private let task: Task<Void, Error>

    private init(outbound: AsyncStream<LoadFrame>.Continuation, replies: AsyncStream<Int>, task: Task<Void, Error>) {
        self.outbound = outbound
        self.replies = replies
        iterator = replies.makeAsyncIterator()
        self.task = task
    }

    static func open(_ url: String) async throws -> LoadSocket {
        let (frames, send) = AsyncStream<LoadFrame>.makeStream()
        let (replies, reply) = AsyncStream<Int>.makeStream()
        let task = Task {
            defer { reply.finish() }
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: Logger(label: "vertac-edge-load")) {
                inbound, out, _ in
                let reader = Task {
                    // However the socket ends, the batch waiting for its answer gets none.
                    defer { reply.finish() }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message else { continue }
                        // Pushes (state changes, scores) may come between: only replies count. The
                        // envelope's keys come in any order; a quote inside a value is escaped, so
                        // `"type":"ack"` is the reply's own type.
                        if text.contains(#""type":"ack""#) { reply.yield(200) }
                        else if text.contains(#""type":"error""#) {
                            reply.yield(text.contains(#""code":"busy""#) || text.contains(#""code":"not_owner""#) ? 503
                                        : text.contains(#""code":"rate_limited""#) ? 429
                                        : text.contains(#""code":"timestamp_backwards""#) ? 409 : 400)
                        }
                    }
                }
                defer { reader.cancel() }
                for await frame in frames {
                    switch frame {
                    case .text(let text): try await out.write(.text(text))
                    case .binary(let bytes): try await out.write(.binary(ByteBuffer(bytes: bytes)))
                    }
                }
                try await out.close(.normalClosure, reason: nil)
            }
        }
        return LoadSocket(outbound: send, replies: replies, task: task)
    }

    /// Sends a batch and waits for its answer.
    func send(_ frame: LoadFrame) async throws -> Int {
        outbound.yield(frame)
        guard let status = await iterator.next() else {
            // The socket closed: its writer stops waiting for frames (awaiting it here would wait
            // for the frame that never comes).
            outbound.finish()
            throw ValidationError("the stream's socket closed")
        }
        return status
    }

    func close() {
        outbound.finish()
    }
}
