import Foundation
import Hummingbird
import HummingbirdTesting
import Simulation
import Testing
import TrainerKit
@testable import ServeKit

/// A second model (another seed), to switch between.
let otherModelPath = fitSimulatedModel(seed: 9, cycles: 12) { s in
    (s.window, s.hidden, s.epochs, s.batch, s.stride, s.threads, s.seed) = (16, 16, 5, 32, 2, 2, 9)
}

@Suite(.serialized) struct ModelManagementTests {
    func upload(_ client: some TestClientProtocol, _ path: String, token: String? = TestAuth.token) async throws -> (HTTPResponse.Status, [String: Any]) {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headers: HTTPFields = token.map { [.authorization: "Bearer \($0)", .contentType: "application/octet-stream"] } ?? [:]
        return try await client.execute(uri: "/api/v1/models?name=\(URL(fileURLWithPath: path).lastPathComponent)", method: .post,
                                        headers: headers, body: ByteBuffer(bytes: bytes)) { r in
            (r.status, ((try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any]) ?? [:])
        }
    }

    @Test func uploadActivateRollBackWithoutRestartOrDroppedSamples() async throws {
        let dir = DataDir()
        let clock = ManualClock(1_767_225_600)
        var s = settings(dir)
        s.clock = { clock.time }
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let app = try await buildApplication(s, parts: parts)
        try await testApp(app, dir, .router) { client in
            let stream = try #require(try await client.json(.post, "/api/live/register", pumpRegister).body["stream_id"] as? String)
            #expect(try await client.json(.get, "/api/live/stream/\(stream)/status").body["model_loaded"] as? Bool == false)

            // Upload: validated by the model-file reader; garbage is refused; engineers may not publish.
            let (status, a) = try await upload(client, serverModelPath)
            #expect(status == .ok && (a["sensors"] as? [String])?.count == 8)
            let idA = try #require(a["id"] as? String)
            let bad = try await client.execute(uri: "/api/v1/models", method: .post, headers: authHeaders(), body: ByteBuffer(string: "not a model")) {
                ($0.status, String(buffer: $0.body))
            }
            #expect(bad.0 == .unprocessableContent && bad.1.contains("not an HDF5 file"))
            let (engineer, _) = try await Tokens.create(in: parts.store, scope: .engineer, name: "e", now: 0)
            #expect(try await upload(client, serverModelPath, token: engineer).0 == .forbidden)
            let listed = try #require(try await client.json(.get, "/api/v1/models").body["models"] as? [[String: Any]])
            #expect(listed.map { $0["id"] as? String } == [idA] && listed[0]["sensorThresholds"] is [Double])

            // Stream half a cycle unscored, activate mid-cycle, stream the rest: every window of the cycle is scored.
            let c = MachineSimulator(seed: 4).cycle(0)
            _ = try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)")
            let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
            func send(_ range: Range<Int>) async throws {
                let rows = range.map { k in #"{"timestamp": \#(1000 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"# }
                #expect(try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#).status == .ok)
            }
            let half = c.rows / 2
            try await send(0..<half)
            #expect(try await client.json(.post, "/api/v1/models/\(idA)/activate").status == .ok)
            #expect((try await client.json(.get, "/api/live/stream/\(stream)/status").body["scoring"] as? String)?.contains(idA) == true)
            try await send(half..<c.rows)
            await parts.pipeline.flush()
            let scores = try await parts.store.scores(stream: stream, from: 0, to: .infinity)
            // Windows of T = 16 rows, stride 1, ending from row half on (earlier rows were replayed into the window buffer).
            #expect(scores.count == c.rows - half, "scored \(scores.count) windows after activation, rows \(c.rows - half)")
            // The cycle ends; its report records model A.
            _ = try await client.json(.post, "/api/live/cycle/stop?stream_id=\(stream)")
            clock.advance(11)
            try await parts.live.tick()
            await parts.pipeline.drainReports()
            let cycleA = try #require(try await parts.store.cycles(stream: stream).first)
            #expect(cycleA.state == .stopped && cycleA.reportJSON?.contains(idA) == true)

            // A second model for this stream only, then back.
            let (_, b) = try await upload(client, otherModelPath)
            let idB = try #require(b["id"] as? String)
            #expect(try await client.json(.post, "/api/v1/models/\(idB)/activate?stream_id=\(stream)").status == .ok)
            #expect((try await client.json(.get, "/api/live/stream/\(stream)/status").body["scoring"] as? String)?.contains(idB) == true)
            // The finished cycle is still drawn against the reference of the model that reported it.
            let aligned = try await client.json(.get, "/api/v1/cycles/\(cycleA.id)/aligned?points=20")
            #expect(aligned.status == .ok && aligned.body["model_id"] as? String == idA, "\(aligned.body["model_id"] ?? "nil")")
            #expect(try await client.json(.post, "/api/v1/models/\(idA)/rollback?stream_id=\(stream)").status == .conflict)
            #expect(try await client.json(.post, "/api/v1/models/\(idB)/rollback?stream_id=\(stream)").status == .ok)
            #expect((try await client.json(.get, "/api/live/stream/\(stream)/status").body["scoring"] as? String)?.contains(idA) == true)

            // Global: B, then roll back to A.
            #expect(try await client.json(.post, "/api/v1/models/\(idB)/activate").status == .ok)
            #expect((try await client.json(.get, "/api/live/stream/\(stream)/status").body["scoring"] as? String)?.contains(idB) == true)
            let back = try await client.json(.post, "/api/v1/models/\(idB)/rollback")
            #expect(back.status == .ok && back.body["model_id"] as? String == idA)
            #expect((try await client.json(.get, "/api/live/stream/\(stream)/status").body["scoring"] as? String)?.contains(idA) == true)

            // A model whose sensors do not match a stream is refused for it, naming the sensors.
            let odd = try #require(try await client.json(.post, "/api/live/register", #"{"device_name": "x", "sensors": [{"name": "torque"}]}"#).body["stream_id"] as? String)
            let refused = try await client.json(.post, "/api/v1/models/\(idA)/activate?stream_id=\(odd)")
            #expect(refused.status == .conflict && errorCode(refused.body) == "sensor_mismatch")
            #expect(((refused.body["error"] as? [String: Any])?["message"] as? String)?.contains("torque") == true)
            #expect(try await client.json(.post, "/api/v1/models/nope/activate").status == .notFound)
        }
        // After a restart the global model is still active.
        let again = try await makeServerParts(s, logger: .init(label: "test"))
        let pump = try #require(try await again.store.streams().first { $0.deviceName == "pump-7" })
        let status = try await again.live.status(pump.id)
        #expect(status.scored)
    }
}
