import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Inference
import Simulation
import Testing
@testable import ServeKit

/// Hostile and careless input over HTTP: every answer a JSON 4xx, the server up, nothing stored.
@Suite struct HardeningHTTPTests {
    @Test func timestampsOutsideTheCalendarAreRefusedAndNothingBreaksAfter() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        try await testApp(app, dir, .router) { client in
            let stream = try #require(try await client.json(.post, "/api/live/register", registerBody).body["stream_id"] as? String)
            for t in ["1e19", "-1e19", "9.2e18", #""1e19""#, #""-1e19""#, #""99999-01-01T00:00:00Z""#, "7258118400"] {
                let r = try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": \#(t), "values": [1, 2]}]}"#)
                #expect(r.status == .badRequest, "\(t): \(r.status)")
                #expect(errorCode(r.body) == "bad_request", "\(t): \(r.body)")
            }
            let samples = #"{"stream_id": "\#(stream)", "samples": [{"timestamp": 1e19, "sensor_name": "motor_speed", "value": 1}]}"#
            #expect(try await client.json(.post, "/api/live/batch", samples).status == .badRequest)
            // A realistic time is still taken (the huge ones were never stored), and every view answers.
            #expect(try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": "2026-12-04T10:00:00Z", "values": [1, 2]}]}"#).status == .ok)
            #expect(try await client.json(.get, "/api/v1/streams").status == .ok)
            #expect(try await client.json(.get, "/api/v1/streams/\(stream)").status == .ok)
            let status = try await client.json(.get, "/api/live/stream/\(stream)/status")
            #expect(status.body["last_sample_at"] as? String == "2026-12-04T10:00:00Z")
        }
    }

    @Test func controlCharactersInNamesAndBatchIDsAreRefused() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        try await testApp(app, dir, .router) { client in
            let nulDevice = #"{"device_name": "pump\u0000-evil", "sensors": [{"name": "a"}]}"#
            let r = try await client.json(.post, "/api/live/register", nulDevice)
            #expect(r.status == .badRequest && errorCode(r.body) == "bad_request", "\(r.body)")
            #expect(try await client.json(.post, "/api/live/register", #"{"device_name": "p", "sensors": [{"name": "a\u0001"}]}"#).status == .badRequest)
            #expect((try await client.json(.get, "/api/v1/streams").body["streams"] as? [Any])?.count == 0)

            let stream = try #require(try await client.json(.post, "/api/live/register", registerBody).body["stream_id"] as? String)
            let nul = try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "batch_id": "a\u0000b", "rows": [{"timestamp": 1, "values": [1, 2]}]}"#)
            #expect(nul.status == .badRequest, "\(nul.body)")
            // The batch "a" that a cut id would have collided with is new, and stored.
            let a = try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "batch_id": "a", "rows": [{"timestamp": 2, "values": [1, 2]}]}"#)
            #expect(a.status == .ok && a.body["duplicate"] as? Bool == false && a.body["rows_stored"] as? Int == 1, "\(a.body)")
        }
    }

    @Test func oversizeCycleStartIsRefusedAndTheCycleDoesNotStart() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        try await testApp(app, dir, .router) { client in
            let stream = try #require(try await client.json(.post, "/api/live/register", registerBody).body["stream_id"] as? String)
            let big = #"{"metadata": {"note": "\#(String(repeating: "x", count: 3 << 20))"}}"#
            let r = try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)", big)
            #expect(r.status == .contentTooLarge && errorCode(r.body) == "body_too_large", "\(r.status) \(r.body)")
            #expect(((r.body["error"] as? [String: Any])?["message"] as? String)?.contains("64 KiB") == true, "\(r.body)")
            #expect(try await client.json(.get, "/api/live/stream/\(stream)/status").body["state"] as? String == "WAITING_START")
            let ok = try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)", #"{"metadata": {"part": "A-17"}}"#)
            #expect(ok.status == .ok)
        }
    }

    @Test func queryTokensOnlyOpenWebSocketsAndEveryAnswerCarriesSecurityHeaders() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/streams?token=\(token)", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(response.headers[.xFrameOptions] == "DENY")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
            try await client.execute(uri: "/api/v1/streams", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
            // `//js` would redirect to the protocol-relative `//js/`: another host to a browser.
            try await client.execute(uri: "//js", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.location] == nil)
            }
        }
    }

    @Test func theDataFolderAndStoreAreTheServersAlone() async throws {
        let dir = DataDir()
        _ = try await buildApplication(settings(dir))
        func mode(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? NSNumber)?.intValue ?? -1 }
        #expect(try mode(dir.path) & 0o077 == 0)
        #expect(try mode(dir.path + "/vertac.sqlite") & 0o077 == 0)
        #expect(try mode(dir.path + "/admin.token") & 0o077 == 0)
    }

    /// A full disk: SQLite's page limit makes the store refuse to grow, as a full disk would.
    @Test func aFullStoreAnswers507WithJSONAndKeepsWhatWasAcknowledged() async throws {
        let dir = DataDir()
        let parts = try await makeServerParts(settings(dir), logger: .init(label: "test"))
        let app = try await buildApplication(settings(dir), parts: parts)
        try await testApp(app, dir, .router) { client in
            let stream = try #require(try await client.json(.post, "/api/live/register", registerBody).body["stream_id"] as? String)
            #expect(try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 1, "values": [1, 2]}]}"#).status == .ok)
            let store = try #require(parts.store as? SQLiteStore)
            try await store.pool.barrierWriteWithoutTransaction { db in
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            }
            let rows = (2..<2_000).map { #"{"timestamp": \#($0), "values": [\#($0), 2]}"# }.joined(separator: ",")
            let full = try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [\#(rows)]}"#)
            #expect(full.status.code == 507 && errorCode(full.body) == "storage_full", "\(full.status) \(full.body)")
            let status = try await client.json(.get, "/api/live/stream/\(stream)/status")
            #expect(status.body["last_sample_at"] as? String == "1970-01-01T00:00:01Z")
        }
    }
}

/// A value near the float32 limit must not poison scoring: its stream still opens events, other
/// streams in the same batch are scored, and the cycle's report is written.
@Suite(.serialized) struct HostileValueScoringTests {
    @Test func aHugeValueNeitherStopsEventsNorOtherStreamsNorTheReport() async throws {
        try await withPumpServer { client, parts, clock, stream in
            let other = try #require(try await client.json(.post, "/api/live/register", pumpRegister).body["stream_id"] as? String)
            let sim = MachineSimulator(seed: 9)
            let c = sim.cycle(0)
            let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
            for s in [stream, other] { #expect(try await client.json(.post, "/api/live/cycle/start?stream_id=\(s)").status == .ok) }
            let t0 = 1_767_225_600.0
            var r = 0
            while r + 10 <= min(c.rows, 200) {
                for s in [stream, other] {
                    let rows = (r..<r + 10).map { k in
                        let values = order.map { j -> String in s == stream && k >= 60 && j == 0 ? "3.4e38" : "\(c.values[k * 8 + j])" }
                        return #"{"timestamp": \#(t0 + c.times[k]), "values": [\#(values.joined(separator: ","))]}"#
                    }
                    #expect(try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(s)", "rows": [\#(rows.joined(separator: ","))]}"#).status == .ok)
                }
                clock.advance(10)
                await parts.pipeline.flush()
                r += 10
            }
            for s in [stream, other] {
                let scores = try await client.json(.get, "/api/v1/streams/\(s)/scores")
                #expect(scores.status == .ok, "\(s): \(scores.body)")
                #expect((scores.body["points"] as? [Any])?.isEmpty == false, "\(s) has no scores")
            }
            let events = try await client.json(.get, "/api/v1/events?stream_id=\(stream)")
            let poisoned = MachineSimulator.sensors[0]
            #expect((events.body["events"] as? [[String: Any]])?.contains { $0["sensor"] as? String == poisoned } == true, "\(events.body)")
            for s in [stream, other] { #expect(try await client.json(.post, "/api/live/cycle/stop?stream_id=\(s)").status == .ok) }
            clock.advance(11)
            try await parts.live.tick()
            await parts.pipeline.drainReports()
            let cycles = try await client.json(.get, "/api/v1/streams/\(stream)/cycles")
            let cycle = try #require((cycles.body["cycles"] as? [[String: Any]])?.first?["id"] as? String)
            let report = try await client.json(.get, "/api/v1/cycles/\(cycle)")
            #expect(report.status == .ok)
            #expect((report.body["cycle"] as? [String: Any])?["health_score"] as? Double != nil, "no report: \(report.body)")
            #expect(report.body["report"] as? [String: Any] != nil)
        }
    }
}
