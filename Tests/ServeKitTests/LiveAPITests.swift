import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Testing
@testable import ServeKit

final class DataDir {
    let path = NSTemporaryDirectory() + "vertac-serve-" + UUID().uuidString
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Settings for an in-process test server: its own data directory; time and scoring are driven
/// by the test (no background services).
func settings(_ dir: DataDir) -> ServerSettings {
    var s = ServerSettings()
    s.dataDirectory = dir.path
    s.backgroundServices = false
    s.modelReader.executable = modelReaderExecutable
    return s
}

/// The token the test client sends (the admin token the server created on its first start).
enum TestAuth {
    @TaskLocal static var token: String?
}

/// Runs `body` against `app` with the data directory's admin token.
func testApp<App: ApplicationProtocol>(_ app: App, _ dir: DataDir, _ mode: TestingSetup,
                                       _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    try await TestAuth.$token.withValue(token) {
        try await app.test(mode) { client in try await body(client) }
    }
}

func authHeaders() -> HTTPFields {
    TestAuth.token.map { [.authorization: "Bearer \($0)"] } ?? [:]
}

extension TestClientProtocol {
    @discardableResult
    func json(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        try await execute(uri: uri, method: method, headers: authHeaders(), body: body.map { ByteBuffer(string: $0) }) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            return (response.status, object)
        }
    }
}

func errorCode(_ body: [String: Any]) -> String? { (body["error"] as? [String: Any])?["code"] as? String }

let registerBody = """
{"device_name": "Machine-01", "sensor_count": 2, "sensors": [
  {"sensor_id": "s-speed", "name": "motor_speed", "type": "analog", "unit": "RPM"},
  {"sensor_id": "s-temp", "name": "bearing_temp", "type": "analog", "unit": "C"}]}
"""

@Suite struct LiveAPITests {
    @Test func registerBatchCycleAndStatusAsDocumented() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        try await testApp(app, dir, .router) { client in
            let health = try await client.json(.get, "/api/health")
            #expect(health.status == .ok && health.body["status"] as? String == "ok")

            let reg = try await client.json(.post, "/api/live/register", registerBody)
            #expect(reg.status == .ok && reg.body["status"] as? String == "registered")
            let stream = try #require(reg.body["stream_id"] as? String)
            #expect(reg.body["dataset_id"] is String)

            let start = try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)", #"{"metadata": {"operator": "John Doe"}}"#)
            #expect(start.status == .ok && start.body["state"] as? String == "active" && start.body["cycle_id"] is String)

            // VerTac's per-sample form: the temperature is missing from the second row and carried forward.
            let batch = try await client.json(.post, "/api/live/batch", """
            {"stream_id": "\(stream)", "samples": [
              {"timestamp": "2026-01-11T10:30:45.000Z", "sensor_id": "s-speed", "value": 1500.5, "unit": "RPM", "quality": 0.95},
              {"timestamp": "2026-01-11T10:30:45.000Z", "sensor_name": "bearing_temp", "value": 41.0},
              {"timestamp": "2026-01-11T10:30:46.000Z", "sensor_id": "s-speed", "value": 1501.0}]}
            """)
            #expect(batch.status == .ok && batch.body["samples_received"] as? Int == 3 && batch.body["buffer_status"] as? String == "ok")
            #expect(batch.body["ack_id"] is String)
            // The compact form, with a batch id.
            let compact = #"{"stream_id": "\#(stream)", "batch_id": "b-1", "rows": [{"timestamp": 1768127447, "values": [1502, 41.5]}]}"#
            let first = try await client.json(.post, "/api/live/batch", compact)
            let again = try await client.json(.post, "/api/live/batch", compact)
            #expect(first.status == .ok && again.status == .ok && again.body["duplicate"] as? Bool == true)
            #expect(again.body["ack_id"] as? String == first.body["ack_id"] as? String)

            let status = try await client.json(.get, "/api/live/stream/\(stream)/status")
            #expect(status.status == .ok && status.body["state"] as? String == "ACTIVE")
            #expect(status.body["samples_filled_forward"] as? Int == 1)
            let sensors = status.body["sensors"] as? [[String: Any]]
            #expect(sensors?.first?["last_value"] as? Double == 1502)

            let stop = try await client.json(.post, "/api/live/cycle/stop?stream_id=\(stream)")
            #expect(stop.body["state"] as? String == "stopping")
            let badPause = try await client.json(.post, "/api/live/cycle/pause?stream_id=\(stream)")
            #expect(badPause.status == .conflict && errorCode(badPause.body) == "invalid_cycle_event")
            #expect(((badPause.body["error"] as? [String: Any])?["message"] as? String)?.contains("STOPPING") == true)
        }
    }

    @Test func acknowledgedRowsAreStoredOnceInTheirCycle() async throws {
        let dir = DataDir()
        let store = try SQLiteStore(path: dir.path + ".sqlite")
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let live = LiveService(store: store)
        let reg = try await live.register(json: registerBody)
        let start = try await live.cycleEvent(.start, stream: reg.streamID, metadata: [:])
        for k in 0..<3 {
            let b = IngestBatch(streamID: reg.streamID, batchID: "b\(k)", readings: .rows([.init(time: Double(k), values: [Float(k), 40])]))
            _ = try await live.ingest(b)
            _ = try await live.ingest(b)   // retried: stored once
        }
        let rows = try await store.samples(cycle: try #require(start.cycleID))
        #expect(rows.map(\.time) == [0, 1, 2] && rows.map(\.values) == [[0, 40], [1, 40], [2, 40]])
        #expect(try await store.cycle(start.cycleID!)?.rows == 3)
        // A fresh service over the same store restores the stream and its cycle state.
        let restored = LiveService(store: store)
        try await restored.restore()
        let status = try await restored.status(reg.streamID)
        #expect(status.state == .active && status.cycleID == start.cycleID && status.lastValues[0] == 2)
    }
}

/// A WebSocket's inbound text messages, parsed as JSON objects.
final class JSONMessages {
    private var iterator: WebSocketInboundMessageStream.AsyncIterator
    init(_ inbound: WebSocketInboundStream) { iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator() }

    /// The next message; an empty object when the socket closed or sent something else.
    func next() async throws -> [String: Any] {
        guard case .text(let t)? = try await iterator.next() else { return [:] }
        return (try JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any]) ?? [:]
    }

    /// The next message of `type` among the next ten.
    func next(ofType type: String) async throws -> [String: Any] {
        for _ in 0..<10 { let m = try await next(); if m["type"] as? String == type { return m } }
        return [:]
    }
}

/// A live in-process server with the two-sensor stream of `registerBody` registered `streams`
/// times; `body` gets the parts, the stream ids and the test client (admin token).
func withLiveServer(streams: Int = 1,
                    _ body: @escaping @Sendable (ServerParts, [String], any TestClientProtocol) async throws -> Void) async throws {
    let dir = DataDir()
    var s = settings(dir)
    s.port = 0
    let parts = try await makeServerParts(s, logger: .init(label: "test"))
    var ids: [String] = []
    for _ in 0..<streams {
        ids.append(try await parts.live.register(json: registerBody).streamID)
    }
    let app = try await buildApplication(s, parts: parts)
    try await testApp(app, dir, .live) { [ids] client in try await body(parts, ids, client) }
}
