import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ServeKit

@Suite struct BadInputTests {
    /// Each bad request gets its 4xx and JSON error; afterwards nothing was stored and a good
    /// batch is still accepted.
    @Test func badInputIsRejectedAndChangesNothing() async throws {
        let dir = DataDir()
        let app = try await buildApplication(settings(dir))
        try await testApp(app, dir, .router) { client in
            let stream = try #require(try await client.json(.post, "/api/live/register", registerBody).body["stream_id"] as? String)
            _ = try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)")
            let good = #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 100, "values": [1, 2]}]}"#
            #expect(try await client.json(.post, "/api/live/batch", good).status == .ok)

            let cases: [(String, String, HTTPResponse.Status, String)] = [
                ("malformed JSON", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 101, "values": [1, 2]}"#, .badRequest, "bad_request"),
                ("wrong type", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 101, "values": ["fast", 2]}]}"#, .badRequest, "bad_request"),
                ("missing field", #"{"rows": [{"timestamp": 101, "values": [1, 2]}]}"#, .badRequest, "bad_request"),
                ("unknown stream", #"{"stream_id": "nope", "rows": [{"timestamp": 101, "values": [1, 2]}]}"#, .notFound, "unknown_stream"),
                ("unknown sensor", #"{"stream_id": "\#(stream)", "samples": [{"timestamp": 101, "sensor_name": "torque", "value": 1}]}"#, .unprocessableContent, "unknown_sensor"),
                ("NaN", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 101, "values": [NaN, 2]}]}"#, .badRequest, "bad_request"),
                ("infinity", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 101, "values": [1e999, 2]}]}"#, .badRequest, "bad_request"),
                ("timestamp backwards", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 99, "values": [1, 2]}]}"#, .conflict, "timestamp_backwards"),
                ("same timestamp twice", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 105, "values": [1, 2]}, {"timestamp": 105, "values": [1, 2]}]}"#, .badRequest, "bad_request"),
                ("bad time text", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": "yesterday", "values": [1, 2]}]}"#, .badRequest, "bad_request"),
                ("row too short", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 101, "values": [1]}]}"#, .unprocessableContent, "wrong_row_length"),
                ("both forms", #"{"stream_id": "\#(stream)", "rows": [], "samples": []}"#, .badRequest, "bad_request"),
                ("empty", #"{"stream_id": "\#(stream)", "rows": []}"#, .badRequest, "bad_request"),
                ("too many rows", #"{"stream_id": "\#(stream)", "rows": [\#((0..<10_001).map { #"{"timestamp": \#(200 + $0), "values": [1, 2]}"# }.joined(separator: ","))]}"#, .contentTooLarge, "too_many_rows"),
                ("body over the size limit", #"{"stream_id": "\#(stream)", "pad": "\#(String(repeating: "x", count: 3_000_000))", "rows": []}"#, .contentTooLarge, "body_too_large"),
            ]
            for (name, body, status, code) in cases {
                let r = try await client.json(.post, "/api/live/batch", body)
                #expect(r.status == status, "\(name): \(r.status)")
                #expect(errorCode(r.body) == code, "\(name): \(r.body)")
                #expect(((r.body["error"] as? [String: Any])?["message"] as? String)?.isEmpty == false, "\(name) has no message")
            }
            let regCases: [(String, String, String)] = [
                ("no sensors", #"{"device_name": "x", "sensors": []}"#, "bad_request"),
                ("duplicate sensor", #"{"device_name": "x", "sensors": [{"name": "a"}, {"name": "a"}]}"#, "bad_request"),
                ("count mismatch", #"{"device_name": "x", "sensor_count": 3, "sensors": [{"name": "a"}]}"#, "bad_request"),
                ("too many sensors", #"{"device_name": "x", "sensors": [\#((0..<1001).map { #"{"name": "s\#($0)"}"# }.joined(separator: ","))]}"#, "too_many_sensors"),
            ]
            for (name, body, code) in regCases {
                let r = try await client.json(.post, "/api/live/register", body)
                #expect(r.status.code >= 400 && r.status.code < 500 && errorCode(r.body) == code, "\(name): \(r.status) \(r.body)")
            }
            #expect(try await client.json(.post, "/api/live/cycle/start").status == .badRequest)
            #expect(try await client.json(.get, "/api/live/stream/nope/status").status == .notFound)

            // Nothing of the above was stored; the server still takes good data.
            let status = try await client.json(.get, "/api/live/stream/\(stream)/status")
            #expect(status.body["last_sample_at"] as? String == "1970-01-01T00:01:40Z")
            #expect(try await client.json(.post, "/api/live/batch", #"{"stream_id": "\#(stream)", "rows": [{"timestamp": 101, "values": [3, 4]}]}"#).status == .ok)
            #expect(try await client.json(.get, "/api/health").body["streams"] as? Int == 1)
        }
    }
}
