import Foundation
import Testing
@testable import ServeKit

/// The ingest body reader against Foundation's JSONDecoder, which the server used before (fuzz/batch
/// checks the same over millions of generated inputs).
@Suite struct BatchDecoderTests {
    static func ours(_ text: String) -> Result<BatchRequest, BatchDecodingError> {
        Result { () throws(BatchDecodingError) in try BatchDecoder.decode(Data(text.utf8)).batch }
    }

    @Test func readsRowsAndSamplesAsJSONDecoderDoes() throws {
        for text in [
            #"{"stream_id": "s1", "batch_id": "b-1", "rows": [{"timestamp": 1767225600.125, "values": [1.5, -2, null, 3e2, 0.1, 1e-7, 123456789.123456789]}]}"#,
            #"{"stream_id":"s\u00e9\ud83d\ude00","samples":[{"timestamp":"2026-01-01T00:00:00.100Z","sensor_id":"p1","value":4.25,"unit":"bar","quality":1},{"timestamp":7,"sensor_name":"f","value":null}]}"#,
            #"{"extra": {"a": [1, {"b": null}], "c": "x\q"}, "stream_id": "s", "rows": [], "stream_id": "second"}"#,
            "\u{FEFF}{\"stream_id\": \"s\", \"rows\": [{\"timestamp\": 1, \"values\": [1,],},],}",
        ] {
            let reference = try JSONDecoder().decode(BatchRequest.self, from: Data(text.utf8))
            let b = try Self.ours(text).get()
            #expect(b.stream_id == reference.stream_id && b.batch_id == reference.batch_id)
            #expect(b.rows?.count == reference.rows?.count && b.samples?.count == reference.samples?.count)
            for (x, y) in zip(b.rows ?? [], reference.rows ?? []) {
                #expect(x.values.map { $0?.bitPattern } == y.values.map { $0?.bitPattern })
                if case .seconds(let s) = x.timestamp, case .seconds(let t) = y.timestamp { #expect(s.bitPattern == t.bitPattern) } else { Issue.record("time") }
            }
            for (x, y) in zip(b.samples ?? [], reference.samples ?? []) {
                #expect(x.sensor_id == y.sensor_id && x.sensor_name == y.sensor_name && x.value == y.value && x.unit == y.unit && x.quality == y.quality)
            }
        }
        #expect(try Self.ours(#"{"stream_id": "a", "stream_id": "b"}"#).get().stream_id == "a")
    }

    @Test func refusesWhatJSONDecoderRefusesNamingTheField() {
        let cases: [(String, String)] = [
            (#"{"rows": []}"#, "missing field stream_id"),
            (#"{"stream_id": "s", "rows": [{"values": [1]}]}"#, "missing field rows[0].timestamp"),
            (#"{"stream_id": "s", "rows": [{"timestamp": 1, "values": [1, "x"]}]}"#, "field rows[0].values[1] is not a number"),
            (#"{"stream_id": "s", "rows": [{"timestamp": true, "values": []}]}"#, "field rows[0].timestamp is not a number or a string"),
            (#"{"stream_id": "s", "rows": {}}"#, "field rows is not an array"),
            (#"{"stream_id": null}"#, "field stream_id is null, expected a string"),
            (#"{"stream_id": "s", "rows": [{"timestamp": 1, "values": [1e400]}]}"#, "field rows[0].values[0]: 1e400 is not representable as a Double"),
            (#"{"stream_id": "s", "rows": [{"timestamp": 1, "values": [2.4e-324]}]}"#, "field rows[0].values[0]: 2.4e-324 is not representable as a Double"),
            (#"{"stream_id": "s", "rows": [{"timestamp": 1, "values": [01]}]}"#, "a number must not start with 0"),
            (#"{"stream_id": "s\ud800"}"#, "a lone UTF-16 surrogate in a string"),
            (#"{"stream_id": "s"} x"#, "unexpected text after the JSON object"),
            (#"{"stream_id": "s", "rows": [{"timestamp": 1, "values": [1]}"#, "the text ends early"),
            ("{\"x\":" + String(repeating: "[", count: 512) + String(repeating: "]", count: 512) + ", \"stream_id\": \"s\"}", "nested deeper than 512 levels"),
        ]
        for (text, message) in cases {
            #expect((try? JSONDecoder().decode(BatchRequest.self, from: Data(text.utf8))) == nil, "JSONDecoder accepts \(text)")
            switch Self.ours(text) {
            case .success(let b): Issue.record("accepted \(text) as \(b)")
            case .failure(let e): #expect(e.message.contains(message), "\(e.message) for \(text)")
            }
        }
        // Found by fuzz/batch: in a field nobody reads, JSONDecoder skips the four characters after
        // \u unchecked, but refuses a quote among them.
        let escaped = #"{"stream_id":"s1","x":[{"t\up":12,"v\u00e9":1,"w\uzzzz":2}]}"#
        #expect((try? JSONDecoder().decode(BatchRequest.self, from: Data(escaped.utf8))) == nil)
        #expect((try? BatchDecoder.decode(Data(escaped.utf8))) == nil)
        let unchecked = #"{"stream_id":"s1","x":[{"v\u00e9":1,"w\uzzzz":2}]}"#
        #expect((try? JSONDecoder().decode(BatchRequest.self, from: Data(unchecked.utf8)))?.stream_id == "s1")
        #expect((try? BatchDecoder.decode(Data(unchecked.utf8)))?.batch.stream_id == "s1")
        // A raw control character in a kept string (JSON escapes it).
        var bytes = Array(#"{"stream_id": "s"#.utf8)
        bytes += [1] + Array(#""}"#.utf8)
        #expect((try? BatchDecoder.decode(Data(bytes))) == nil)
    }

    @Test func aSocketBatchMayOmitItsStreamAndCarryACommand() throws {
        let (batch, type) = try BatchDecoder.decode(Data(#"{"type": "cycle_start", "metadata": {"op": "ana"}}"#.utf8), defaultStream: "s9")
        #expect(batch.stream_id == "s9" && batch.rows == nil && type == "cycle_start")
    }
}
