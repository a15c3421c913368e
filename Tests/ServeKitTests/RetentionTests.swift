import Foundation
import Inference
import Testing
@testable import ServeKit

/// Retention (`retention.*`): raw samples past their days become per-second aggregates, and
/// aggregates, scores, resolved events and old acknowledgements go, a small transaction at a time.
@Suite struct RetentionTests {
    /// The contract on every store: chunks roll up (a second split over two chunks merged), at most
    /// `limit` items per call, and only what is before the cutoff.
    @Test(arguments: StoreKind.available)
    func samplesRollUpIntoSecondsAndTheRestGoes(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        var s = StoreContractTests.stream()
        try await store.saveStream(s)
        // Three batches of rows every 0.25 s: [10, 11.25], [11.5, 12.75], [13, 14.25]; second 11 is split.
        for (k, start) in [10.0, 11.5, 13.0].enumerated() {
            let rows = (0..<6).map { i in SampleRow(time: start + Double(i) * 0.25, values: [Float(start) + Float(i), -Float(i)], cycleID: nil) }
            s.lastTimestamp = rows.last!.time
            try await store.commitBatch(stream: s, rows: rows, batchID: "b\(k)", ack: BatchAck(ackID: "a\(k)", samples: 12, rows: 6))
        }
        // Before 13: the first two batches, one chunk per call.
        #expect(try await store.rollUpSamples(stream: "s1", before: 13, limit: 1) == 1)
        #expect(try await store.rollUpSamples(stream: "s1", before: 13, limit: 1) == 1)
        #expect(try await store.rollUpSamples(stream: "s1", before: 13, limit: 1) == 0)
        #expect(try await store.samples(stream: "s1", from: 0, to: 100).map(\.time) == (0..<6).map { 13 + Double($0) * 0.25 })
        let seconds = try await store.secondAggregates(stream: "s1", from: 0, to: 100)
        #expect(seconds.map(\.time) == [10, 11, 12])
        #expect(seconds.map(\.count) == [4, 4, 4])
        // Second 11: rows 11.0, 11.25 (values 14, 15 | -4, -5) of the first batch and 11.5, 11.75 (11.5, 12.5 | 0, -1) of the second.
        let eleven = try #require(seconds.first { $0.time == 11 })
        #expect(eleven.min == [11.5, -5] && eleven.max == [15, 0])
        #expect(abs(eleven.mean[0] - (14 + 15 + 11.5 + 12.5) / 4) < 1e-5 && abs(eleven.mean[1] - (-4 - 5 + 0 - 1) / 4) < 1e-5)
        // Acknowledgements of batches whose last row is before the cutoff.
        #expect(try await store.deleteBatchAcks(stream: "s1", before: 13, limit: 10) == 2)
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b0") == nil)
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b2") != nil)
        #expect(try await store.deleteAggregates(stream: "s1", before: 12, limit: 1) == 1)
        #expect(try await store.deleteAggregates(stream: "s1", before: 12, limit: 5) == 1)
        #expect(try await store.secondAggregates(stream: "s1", from: 0, to: 100).map(\.time) == [12])

        // Scores and transitions before the cutoff; resolved events only, with their notes.
        try await store.saveCycle(CycleRecord(id: "c1", streamID: "s1", number: 1, state: .active, startedAt: 1))
        try await store.commitScoring(
            scores: [5, 6, 7].map { ScoreRecord(streamID: "s1", cycleID: "c1", time: $0, score: 0.5, sensorScores: [1, 2]) }, states: [],
            transitions: [TransitionRecord(streamID: "s1", sensor: "a", from: .normal, to: .warning, time: 5, reason: "x", evidenceJSON: nil)],
            events: [])
        #expect(try await store.deleteScores(stream: "s1", before: 7, limit: 10) == 3)
        #expect(try await store.scores(stream: "s1", from: 0, to: 100).map(\.time) == [7])
        #expect(try await store.transitions(stream: "s1", limit: 10).isEmpty)
        var resolved = MaintenanceEvent(id: "e1", stream: "s1", sensor: "a", severity: .high, openedAt: 5, updatedAt: 5, reason: "r",
                                        evidence: nil, topSensors: [], estimatedCost: nil)
        resolved.status = .resolved
        let open = MaintenanceEvent(id: "e2", stream: "s1", sensor: "b", severity: .high, openedAt: 5, updatedAt: 5, reason: "r",
                                    evidence: nil, topSensors: [], estimatedCost: nil)
        try await store.saveEvent(resolved, note: EventNote(eventID: "e1", author: "ana", note: "fixed", at: 5))
        try await store.saveEvent(open, note: nil)
        #expect(try await store.deleteEvents(stream: "s1", before: 6, limit: 10) == 1)
        #expect(try await store.event("e1") == nil)
        #expect(try await store.event("e2") != nil)
        #expect(try await store.eventNotes(events: ["e1"]).isEmpty)
    }

    /// A server that runs for weeks of (simulated) days keeps a flat database: with raw samples
    /// kept 2 days and aggregates 3, its file stops growing once the first days have gone. Days
    /// count back from the stream's newest row: data recorded long ago and sent now stays.
    @Test func theDatabaseStaysFlatAsTheClockRunsForward() async throws {
        let dir = DataDir()
        let clock = ManualClock(1_767_225_600)
        var s = settings(dir)
        s.clock = { clock.time }
        s.retention.samplesDays = 2
        s.retention.aggregatesDays = 3
        s.retention.scoresDays = 2
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let stream = try await parts.live.register(json: #"{"device_name": "m", "sensors": [{"name": "x"}, {"name": "y"}, {"name": "z"}]}"#).streamID
        var retention = Retention(store: parts.store, live: parts.live, settings: s.retention, metrics: parts.metrics, clock: { clock.time })
        retention.pause = .zero
        var sizes: [Int] = []
        var removed = RetentionPass()
        for _ in 0..<10 {
            // A day: 300 batches of 50 rows, at 5 rows a second for the first hour or so.
            let start = clock.time
            for b in 0..<300 {
                let rows = (0..<50).map { i -> String in
                    let t = start + Double(b * 50 + i) * 0.2
                    return #"{"timestamp": \#(t), "values": [\#(sin(t)), \#(cos(t)), \#(Double(i))]}"#
                }
                _ = try await parts.live.ingest(json: #"{"stream_id": "\#(stream)", "batch_id": "\#(start)-\#(b)", "rows": [\#(rows.joined(separator: ","))]}"#)
            }
            clock.advance(86_400)
            let pass = try await retention.pass()
            removed.chunksRolledUp += pass.chunksRolledUp
            removed.aggregates += pass.aggregates
            removed.acknowledgements += pass.acknowledgements
            try await (parts.store as! SQLiteStore).checkpointNow()
            let size = try FileManager.default.attributesOfItem(atPath: dir.path + "/vertac.sqlite")[.size] as! Int
            sizes.append(size)
        }
        print("RetentionTests: database bytes after each day: \(sizes)")
        // A stream of rows from 1970 (a replay): nothing of it goes.
        let old = try await parts.live.register(json: #"{"device_name": "replay", "sensors": [{"name": "x"}]}"#).streamID
        _ = try await parts.live.ingest(json: #"{"stream_id": "\#(old)", "rows": [{"timestamp": 1, "values": [1]}, {"timestamp": 2, "values": [2]}]}"#)
        #expect(try await retention.pass().chunksRolledUp == 0)
        #expect(try await parts.store.samples(stream: old, from: 0, to: 10).count == 2)
        // A row stamped far in the future does not make the rows of the last days old.
        let live = try await parts.live.register(json: #"{"device_name": "clock", "sensors": [{"name": "x"}]}"#).streamID
        let now = clock.time
        _ = try await parts.live.ingest(json: #"{"stream_id": "\#(live)", "rows": [{"timestamp": \#(now - 3_600), "values": [1]}, {"timestamp": \#(now - 60), "values": [2]}]}"#)
        _ = try await parts.live.ingest(json: #"{"stream_id": "\#(live)", "rows": [{"timestamp": 4102444800, "values": [3]}]}"#)
        #expect(try await retention.pass().chunksRolledUp == 0)
        #expect(try await parts.store.samples(stream: live, from: 0, to: .infinity).count == 3)
        // Raw rows of the last two days before the newest row (day 8's last batch ends exactly
        // two days before it, so it stays); aggregates of the day before them.
        #expect(removed.chunksRolledUp == 8 * 300 - 1 && removed.acknowledgements == 8 * 300 - 1, "\(removed)")
        #expect(removed.aggregates > 0)
        let kept = try await parts.store.samples(stream: stream, from: 0, to: .infinity).count
        #expect(kept == 2 * 300 * 50 + 50)
        // Flat: the last five days within 10 % of each other, and no larger than day 5.
        let tail = sizes.suffix(5)
        #expect(Double(tail.max()!) <= Double(tail.min()!) * 1.1, "\(sizes)")
        #expect(sizes.last! <= sizes[4] + sizes[4] / 10, "\(sizes)")
    }
}
