import Foundation
import Testing
@testable import EdgeKit

@Suite struct EdgeBufferTests {
    @Test func outboxKeepsOrderAcrossReopeningAndBatchesBySizeAndTime() throws {
        let path = NSTemporaryDirectory() + "edge-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let buffer = try EdgeBuffer(path: path)
            let rec = try Recorder(buffer: buffer, stream: "s", batchRows: 3, batchSeconds: 10)
            try rec.event("start")
            for t in 0..<7 { try rec.row(time: Double(t), values: [Float(t)]) }
            try rec.event("stop")        // flushes the 7th row first
            #expect(buffer.count == 5)   // start, 3 rows, 3 rows, 1 row, stop
        }
        // Reopened (an edge restart): same items, same order; batch ids continue.
        let buffer = try EdgeBuffer(path: path)
        var kinds: [String] = []
        var ids: [String] = []
        while let item = try buffer.first() {
            kinds.append(item.kind)
            if item.kind == "batch" { ids.append((try JSONSerialization.jsonObject(with: Data(item.body.utf8)) as! [String: Any])["batch_id"] as! String) }
            try buffer.remove(item.seq)
        }
        #expect(kinds == ["start", "batch", "batch", "batch", "stop"] && ids == ["s-1", "s-2", "s-3"])
        let rec = try Recorder(buffer: buffer, stream: "s", batchRows: 100, batchSeconds: 1)
        try rec.row(time: 100, values: [1])
        try rec.row(time: 100.5, values: [1])
        #expect(buffer.count == 0)
        try rec.row(time: 101.2, values: [1])   // 1 s after the first row of the batch
        let batch = try #require(try buffer.first())
        #expect((try JSONSerialization.jsonObject(with: Data(batch.body.utf8)) as! [String: Any])["batch_id"] as? String == "s-4")
    }
}
