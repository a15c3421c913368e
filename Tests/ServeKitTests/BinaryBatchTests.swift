import Foundation
import NIOCore
import Testing
@testable import ServeKit

/// Binary batches on a stream's socket: the layout read exactly, anything else refused.
@Suite struct BinaryBatchTests {
    static func decode(_ bytes: [UInt8], stream: String = "s1") throws -> IngestBatch {
        try bytes.withUnsafeBytes { b in try BinaryBatch.decode(b, stream: stream) }
    }

    @Test func rowsTimesValuesAndTheBatchIDReadBack() throws {
        let frame = BinaryBatch.encode(times: [1_767_225_600.125, 1_767_225_600.25], values: [1.5, .nan, -2, 3e38], width: 2, batchID: "b-7")
        #expect(frame.count == 12 + 3 + 2 * (8 + 8))
        let batch = try Self.decode(frame)
        #expect(batch.streamID == "s1" && batch.batchID == "b-7")
        guard case .rows(let rows) = batch.readings else { Issue.record("not rows"); return }
        #expect(rows.map(\.time) == [1_767_225_600.125, 1_767_225_600.25])
        #expect(rows.map(\.values) == [[1.5, nil], [-2, 3e38]])   // NaN: not sent
        let plain = try Self.decode(BinaryBatch.encode(times: [5], values: [7], width: 1))
        #expect(plain.batchID == nil)
    }

    @Test func aWrongLayoutIsRefusedWithItsReason() throws {
        let good = BinaryBatch.encode(times: [1, 2], values: [1, 2, 3, 4], width: 2)
        var cases: [(String, [UInt8])] = [
            ("empty", []),
            ("wrong magic", Array("VTB2".utf8) + good.dropFirst(4)),
            ("one byte short", Array(good.dropLast())),
            ("one byte long", good + [0]),
            ("header only", Array(good.prefix(12))),
        ]
        var zeroRows = good
        zeroRows.replaceSubrange(4..<8, with: [0, 0, 0, 0])
        cases.append(("zero rows", zeroRows))
        var tooMany = good
        withUnsafeBytes(of: UInt32(10_001).littleEndian) { tooMany.replaceSubrange(4..<8, with: $0) }
        cases.append(("10,001 rows", tooMany))
        var zeroWidth = good
        zeroWidth.replaceSubrange(8..<10, with: [0, 0])
        cases.append(("no values per row", zeroWidth))
        var longID = good
        withUnsafeBytes(of: UInt16(129).littleEndian) { longID.replaceSubrange(10..<12, with: $0) }
        cases.append(("a 129-byte id", Array(longID.prefix(12)) + [UInt8](repeating: 65, count: 129) + longID.dropFirst(12)))
        cases.append(("an id that is not UTF-8", {
            var f = BinaryBatch.encode(times: [1], values: [1], width: 1, batchID: "ab")
            f[12] = 0xff
            return f
        }()))
        // A row count that would overflow the size arithmetic is refused by the row limit first.
        var huge = good
        huge.replaceSubrange(4..<8, with: [0xff, 0xff, 0xff, 0xff])
        cases.append(("2^32 - 1 rows", huge))
        for (name, bytes) in cases {
            #expect(throws: BatchDecodingError.self, "\(name)") { _ = try Self.decode(bytes) }
        }
    }

    /// Through a real server: a binary batch is stored and acknowledged as a JSON one is; a bad
    /// frame, a wrong width and an infinite value get errors and store nothing.
    @Test func aStreamSocketTakesBinaryBatches() async throws {
        try await withLiveServer { parts, ids, client in
            let stream = ids[0]
            try await client.ws("/api/live/ws/stream/\(stream)?samples=false", configuration: .init(additionalHeaders: authHeaders())) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                let frame = BinaryBatch.encode(times: [10, 11, 12], values: [1, 40, .nan, 41, 3, .nan], width: 2, batchID: "bin-1")
                try await outbound.write(.binary(ByteBuffer(bytes: frame)))
                let ack = try await messages.next(ofType: "ack")
                #expect((ack["data"] as? [String: Any])?["rows_stored"] as? Int == 3)
                try await outbound.write(.binary(ByteBuffer(bytes: frame)))   // a retry: stored once
                #expect((try await messages.next(ofType: "ack")["data"] as? [String: Any])?["duplicate"] as? Bool == true)
                try await outbound.write(.binary(ByteBuffer(bytes: Array(frame.dropLast()))))
                #expect((try await messages.next(ofType: "error")["data"] as? [String: Any])?["code"] as? String == "bad_request")
                try await outbound.write(.binary(ByteBuffer(bytes: BinaryBatch.encode(times: [13], values: [1, 2, 3], width: 3))))
                #expect((try await messages.next(ofType: "error")["data"] as? [String: Any])?["code"] as? String == "wrong_row_length")
                try await outbound.write(.binary(ByteBuffer(bytes: BinaryBatch.encode(times: [14], values: [.infinity, 2], width: 2))))
                #expect((try await messages.next(ofType: "error")["data"] as? [String: Any])?["code"] as? String == "bad_request")
            }
            // ?pushes=false: only replies, so a cycle command's own state change is not pushed first.
            try await client.ws("/api/live/ws/stream/\(stream)?pushes=false", configuration: .init(additionalHeaders: authHeaders())) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                try await outbound.write(.text("cycle_start"))
                #expect(try await messages.next()["type"] as? String == "cycle")
                try await outbound.write(.binary(ByteBuffer(bytes: BinaryBatch.encode(times: [20], values: [5, 6], width: 2))))
                #expect(try await messages.next()["type"] as? String == "ack")
            }
            let rows = try await parts.store.samples(stream: stream, from: 0, to: 19)
            #expect(rows.map(\.time) == [10, 11, 12])
            #expect(rows.map(\.values) == [[1, 40], [1, 41], [3, 41]])   // carried forward
        }
    }
}
