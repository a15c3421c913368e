import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Testing
@testable import ServeKit

@Suite struct SignalDecimatorTests {
    @Test func oneKilohertzBecomesHundredBucketsWithMinMaxMean() {
        var d = SignalDecimator(width: 2, bucket: 0.01)
        // 1 kHz for one second, starting on a bucket boundary: sensor 0 counts rows, sensor 1 alternates sign.
        for i in 0..<1_000 { d.add(time: 1_000 + Double(i) / 1_000, values: [Float(i), i % 2 == 0 ? 1 : -1]) }
        let points = d.take()
        #expect(points.count == 100)
        #expect(points.allSatisfy { $0.n == 10 })
        #expect(points[3].min == [30, -1] && points[3].max == [39, 1] && points[3].mean == [34.5, 0])
        #expect(abs(points[3].t - 1_000.03) < 1e-9)
        // The open (last) bucket comes again once it changes, and not before.
        #expect(d.take().isEmpty && !d.hasNews)
        d.add(time: 1_000.9995, values: [2_000, 5])
        let again = d.take()
        #expect(again.count == 1 && again[0].t == points[99].t && again[0].n == 11 && again[0].max == [2_000, 5])
    }

    @Test func slowStreamsKeepEveryRow() {
        var d = SignalDecimator(width: 1)
        for i in 0..<5 { d.add(time: Double(i), values: [Float(i)]) }
        #expect(d.take().map(\.mean) == [[0], [1], [2], [3], [4]])
    }
}

@Suite(.serialized) struct DashboardTests {
    @Test func theDashboardIsServedAtTheRootWithoutAToken() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        try await app.test(.router) { client in
            let index = try await client.execute(uri: "/", method: .get) { ($0.status, $0.headers[.contentType], String(buffer: $0.body)) }
            #expect(index.0 == .ok && index.1?.hasPrefix("text/html") == true)
            #expect(index.2.contains(#"<script type="module" src="js/app.js">"#))
            // Every module the page imports is served as JavaScript.
            for path in ["/js/app.js", "/js/api.js", "/js/live.js", "/js/charts.js", "/js/format.js", "/js/views/fleet.js",
                         "/js/views/stream.js", "/js/views/cycle.js", "/js/views/events.js", "/js/views/models.js", "/app.css", "/favicon.svg"] {
                let r = try await client.execute(uri: path, method: .get) { ($0.status, $0.headers[.contentType] ?? "") }
                #expect(r.0 == .ok, "\(path)")
                if path.hasSuffix(".js") { #expect(r.1.contains("javascript"), "\(path): \(r.1)") }
            }
            // The API keeps its JSON errors, and data still needs a token.
            let missing = try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: authHeaders()) { ($0.status, String(buffer: $0.body)) }
            #expect(missing.0 == .unauthorized || missing.0 == .notFound)
            #expect(missing.1.contains(#""error""#))
            #expect(try await client.execute(uri: "/nope.js", method: .get) { $0.status } == .notFound)
        }
    }

    @Test func signalSubscribersGetDecimatedRowsInsteadOfSamples() async throws {
        try await withLiveServer { parts, ids, client in
            let stream = ids[0]
            try await client.ws("/api/v1/live", configuration: .init(additionalHeaders: authHeaders())) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                func next() async throws -> [String: Any] { try await messages.next() }
                try await outbound.write(.text(#"{"subscribe": ["\#(stream)"], "samples": false, "signal": true}"#))
                let ok = try await next()
                #expect(ok["type"] as? String == "subscribed" && (ok["data"] as? [String: Any])?["signal"] as? Bool == true)
                // 200 rows at 1 kHz in 20 batches, as fast as they go: at most 20 pushes a second, so
                // fewer signal messages than batches, and every row counted once.
                var rows = 0
                for b in 0..<20 {
                    let body = (0..<10).map { i -> String in
                        let t = 1_700_000_000.0 + Double(b * 10 + i) / 1_000
                        return #"{"timestamp": \#(t), "values": [\#(b * 10 + i), 40]}"#
                    }.joined(separator: ",")
                    rows += try await parts.live.ingest(json: #"{"stream_id": "\#(stream)", "rows": [\#(body)]}"#).rows
                }
                var byTime: [Double: Int] = [:], pushes = 0, maxSeen = -1.0
                while byTime.values.reduce(0, +) < rows {
                    let m = try await next()
                    #expect(m["type"] as? String == "signal", "\(m["type"] ?? "nil")")
                    pushes += 1
                    let data = try #require(m["data"] as? [String: Any])
                    #expect(data["sensors"] as? [String] == ["motor_speed", "bearing_temp"])
                    for p in try #require(data["points"] as? [[String: Any]]) {
                        let t = try #require(p["t"] as? Double), n = try #require(p["n"] as? Int)
                        byTime[t] = n  // an open bucket sent again replaces itself
                        maxSeen = max(maxSeen, ((p["max"] as? [Double]) ?? [])[0])
                    }
                }
                #expect(byTime.count == 20 && byTime.values.allSatisfy { $0 == 10 })
                #expect(maxSeen == 199)
                #expect(pushes < 20, "\(pushes) signal messages for 20 batches")
            }
        }
    }
}
