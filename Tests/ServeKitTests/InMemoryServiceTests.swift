import Foundation
import Inference
import Model
import Simulation
import Testing
@testable import ServeKit

/// The live service and the scoring pipeline on an ``InMemoryStore``: no HTTP, no database.
@Suite struct InMemoryServiceTests {
    @Test func aNormalCycleIsStoredScoredAndReported() async throws {
        let store = InMemoryStore()
        let clock = ManualClock(1_767_225_600)
        let hub = LiveHub()
        let pipeline = ScoringPipeline(store: store, hub: hub)
        await pipeline.load("m1", try ModelFile.read(from: serverModelPath))
        await pipeline.restoreAssignments(global: "m1", perStream: [:])
        let live = LiveService(store: store, pipeline: pipeline, clock: { clock.time })

        let stream = try await live.register(json: pumpRegister).streamID
        #expect(try await store.stream(stream)?.cycleState == .waitingStart)
        #expect(try await live.cycleEvent(.start, stream: stream, metadata: ["operator": "ana"]).state == .active)
        let cycleID = try #require(try await store.stream(stream)?.currentCycleID)
        #expect(try await store.cycle(cycleID)?.state == .active)

        // One simulated normal cycle, ten rows a batch, each batch scored before the next.
        let c = MachineSimulator(seed: 2).cycle(0)
        let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
        var first: IngestReceipt?
        for (n, r) in stride(from: 0, to: c.rows, by: 10).enumerated() {
            let rows = (r..<min(c.rows, r + 10)).map { k in
                #"{"timestamp": \#(1000 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
            }
            let body = #"{"stream_id": "\#(stream)", "batch_id": "b\#(n)", "rows": [\#(rows.joined(separator: ","))]}"#
            let ack = try await live.ingest(json: body)
            if n == 0 {
                first = ack
                // The edge retries its first batch: same acknowledgement, nothing stored twice.
                let again = try await live.ingest(json: body)
                #expect(again.duplicate && again.ackID == ack.ackID && again.rows == ack.rows)
            }
            clock.advance(Double(min(10, c.rows - r)))
            await pipeline.flush()
        }
        #expect(first?.duplicate == false && first?.rows == 10)
        #expect(try await store.samples(cycle: cycleID).count == c.rows)
        #expect(try await store.cycle(cycleID)?.rows == c.rows)

        _ = try await live.cycleEvent(.stop, stream: stream, metadata: [:])
        clock.advance(11)
        try await live.tick()
        await pipeline.drainReports()

        let cycle = try #require(try await store.cycle(cycleID))
        #expect(cycle.state == .stopped && cycle.endedAt != nil && cycle.metadata == ["operator": "ana"])
        #expect(cycle.healthScore != nil && cycle.anomalous == false && cycle.severity == .normal && cycle.reportJSON != nil)
        #expect(try await store.stream(stream)?.cycleState == .stopped)
        let states = try await store.sensorStates(stream: stream)
        #expect(states.count == 8 && states.allSatisfy { $0.state == .normal }, "\(states.map(\.state))")
        let scores = try await store.scores(stream: stream, from: 0, to: .infinity)
        #expect(scores.count > 20 && scores.allSatisfy { $0.cycleID == cycleID && $0.sensorScores.count == 8 })
        #expect(try await store.events(status: nil, stream: stream).isEmpty)
    }
}
