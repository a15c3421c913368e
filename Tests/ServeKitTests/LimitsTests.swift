import Foundation
import Hummingbird
import HummingbirdTesting
import Simulation
import Testing
@testable import ServeKit

@Suite(.serialized) struct LimitsTests {
    @Test func perTokenRateLimitAnswers429WithRetryAfter() async throws {
        let dir = DataDir()
        var s = settings(dir)
        s.rateLimit = (rate: 0.01, burst: 5)   // one request per 100 s once the burst is spent
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let (other, _) = try await Tokens.create(in: parts.store, scope: .engineer, name: "other", now: 0)
        let app = try await buildApplication(s, parts: parts)
        try await testApp(app, dir, .router) { client in
            for _ in 0..<5 { #expect(try await client.json(.get, "/api/v1/streams").status == .ok) }
            let limited = try await client.execute(uri: "/api/v1/streams", method: .get, headers: authHeaders()) {
                ($0.status, $0.headers[.retryAfter], String(buffer: $0.body))
            }
            #expect(limited.0 == .tooManyRequests && limited.2.contains("rate_limited"))
            #expect((Int(limited.1 ?? "") ?? 0) > 90)   // Retry-After: about 100 s
            // Another token has its own bucket.
            #expect(try await client.execute(uri: "/api/v1/streams", method: .get, headers: [.authorization: "Bearer \(other)"]) { $0.status } == .ok)
            #expect(try await client.json(.get, "/api/health").status == .ok)   // never limited
        }
    }

    @Test func backpressureWhenScoringFallsBehind() async throws {
        let dir = DataDir()
        var s = settings(dir)
        s.modelPath = serverModelPath
        s.maxQueuedWindows = 20
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let app = try await buildApplication(s, parts: parts)
        try await testApp(app, dir, .router) { client in
            let stream = try #require(try await client.json(.post, "/api/live/register", pumpRegister).body["stream_id"] as? String)
            _ = try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)")
            let c = MachineSimulator(seed: 5).cycle(0)
            let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
            func batch(_ range: Range<Int>) -> String {
                let rows = range.map { k in #"{"timestamp": \#(c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"# }
                return #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#
            }
            // 50 rows queue 35 windows (T = 16) with nothing scoring them: the next batch is refused.
            #expect(try await client.json(.post, "/api/live/batch", batch(0..<50)).status == .ok)
            let busy = try await client.execute(uri: "/api/live/batch", method: .post, headers: authHeaders(), body: ByteBuffer(string: batch(50..<60))) {
                ($0.status, $0.headers[.retryAfter])
            }
            #expect(busy.0 == .serviceUnavailable && busy.1 == "1")
            #expect(try await client.json(.get, "/api/live/stream/\(stream)/status").body["last_sample_at"] as? String == "1970-01-01T00:00:49Z")
            // Once scoring catches up, the same batch is taken.
            await parts.pipeline.flush()
            #expect(try await client.json(.post, "/api/live/batch", batch(50..<60)).status == .ok)
        }
    }
}
