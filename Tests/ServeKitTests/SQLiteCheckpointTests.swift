import Foundation
import Testing
@testable import ServeKit

/// Checkpoints run beside the writer, SQLite's own (inside a commit) being off: the WAL is still
/// started over while batches commit back to back, rather than growing without end.
@Suite struct SQLiteCheckpointTests {
    @Test func theWALIsStartedOverWhileAWriterNeverPauses() async throws {
        let dir = DataDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/v.sqlite"
        let store = try SQLiteStore(path: path, walRestartFrames: 64)
        var stream = StreamRecord(id: "s1", deviceName: "d", datasetID: "x", registeredAt: 0,
                                  sensors: (0..<10).map { SensorRecord(sensorID: nil, name: "s\($0)", type: nil, unit: nil) },
                                  cycleState: .waitingStart, cycleNumber: 0, stateSince: 0, lastActivity: 0, currentCycleID: nil,
                                  lastTimestamp: nil, filledValues: 0)
        try await store.saveStream(stream)
        // The WAL header's checkpoint sequence number (bytes 12–15, big-endian) grows each time
        // the WAL is started over.
        func sequence() -> UInt32? {
            guard let h = FileManager.default.contents(atPath: path + "-wal"), h.count >= 16 else { return nil }
            return h[12..<16].reduce(0) { $0 << 8 | UInt32($1) }
        }
        var restarts = 0, last = sequence(), k = 0
        let started = Date()
        // Back-to-back batches (the writer never pauses) until the WAL was started over twice.
        while restarts < 2 && Date().timeIntervalSince(started) < 20 {
            let rows = (0..<200).map { SampleRow(time: Double(k * 200 + $0), values: [Float](repeating: Float(k), count: 10), cycleID: nil) }
            stream.lastTimestamp = rows.last!.time
            try await store.commitBatch(stream: stream, rows: rows, batchID: "b\(k)", ack: BatchAck(ackID: "a\(k)", samples: 2_000, rows: 200))
            let now = sequence()
            if let now, let before = last, now != before { restarts += 1 }
            if now != nil { last = now }
            k += 1
        }
        #expect(restarts >= 2, "the WAL was started over \(restarts) times in \(k) back-to-back batches")
        #expect(try await store.samples(stream: "s1", from: 0, to: .infinity).count == k * 200)
    }
}
