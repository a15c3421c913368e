import Foundation
import Inference
import Model
import Simulation
import Synchronization
import Testing
@testable import ServeKit

/// Holds forward passes until the test opens it, and says when one is waiting.
actor ForwardGate {
    private var open = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private(set) var entered = 0

    func pass() async {
        entered += 1
        guard !open else { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        open = true
        for w in waiting { w.resume() }
        waiting = []
    }
}

/// How many windows each forward pass got.
final class PassSizes: Sendable {
    let sizes = Mutex<[Int]>([])
}

/// One owner per stream: ingest, scoring and engineers' changes meet in the stream's owner.
@Suite struct StreamOwnerTests {
    struct Setup {
        let store = InMemoryStore()
        let clock = ManualClock(1_767_225_600)
        let pipeline: ScoringPipeline
        let live: LiveService
        let stream: String

        init(gate: ForwardGate? = nil, sliceLimit: Int = 2_048, passes: PassSizes? = nil) async throws {
            let hub = LiveHub()
            pipeline = ScoringPipeline(store: store, hub: hub, settings: .init(), metrics: ServerMetrics(), logger: .init(label: "test"),
                                       sliceLimit: sliceLimit) { parts in
                passes?.sizes.withLock { $0.append(parts.map(\.windows.count).reduce(0, +)) }
                await gate?.pass()
                return await ScoringPipeline.forward(parts)
            }
            await pipeline.load("m1", try ModelFile.read(from: serverModelPath))
            await pipeline.restoreAssignments(global: "m1", perStream: [:])
            let clock = clock
            live = LiveService(store: store, pipeline: pipeline, clock: { clock.time })
            stream = try await live.register(json: pumpRegister).streamID
            _ = try await live.cycleEvent(.start, stream: stream, metadata: [:])
        }

        /// Rows `range` of simulated cycle `c` as one batch, in the registered (reversed) sensor order.
        func send(_ c: SimulatedCycle, _ range: Range<Int>) async throws -> IngestReceipt {
            let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
            let rows = range.map { k in
                #"{"timestamp": \#(1000 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
            }
            let body = #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#
            let ack = try await live.ingest(json: body)
            clock.advance(Double(range.count))
            return ack
        }
    }

    /// A long queue is scored in slices (what a flush holds does not grow with the queue), every
    /// window once and in order.
    @Test func aLongQueueIsScoredInSlicesEveryWindowOnceInOrder() async throws {
        let passes = PassSizes()
        let s = try await Setup(sliceLimit: 16, passes: passes)
        let window = try #require(await s.pipeline.loadedModel("m1")).model.window
        let c = MachineSimulator(seed: 3).cycle(0)
        _ = try await s.send(c, 0..<(window + 70))
        #expect(s.pipeline.queued == 71)
        await s.pipeline.flush()
        #expect(passes.sizes.withLock { $0 } == [16, 16, 16, 16, 7])
        #expect(s.pipeline.queued == 0)
        let scores = try await s.store.scores(stream: s.stream, from: 0, to: .infinity)
        #expect(scores.count == 71)
        #expect(scores.map(\.time) == (window - 1..<window + 70).map { 1000 + c.times[$0] })
    }

    /// The scoring service's flushes overlap: the next slice's forward pass runs while the
    /// previous slice's transaction is still being written, and its results wait for that
    /// transaction before they reach the owners — transactions commit in window order.
    @Test func theNextForwardPassRunsWhileTheLastTransactionIsWritten() async throws {
        let passes = PassSizes()
        let s = try await Setup(sliceLimit: 16, passes: passes)
        let disk = ForwardGate()
        await s.store.holdScoring { await disk.pass() }
        let window = try #require(await s.pipeline.loadedModel("m1")).model.window
        let c = MachineSimulator(seed: 4).cycle(0)
        _ = try await s.send(c, 0..<(window + 31))
        #expect(s.pipeline.queued == 32)
        let flushing = Task { await s.pipeline.flushOverlapping() }
        // Both forward passes run although the first slice's transaction is held.
        for _ in 0..<500 where passes.sizes.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(passes.sizes.withLock { $0 } == [16, 16])
        #expect(await disk.entered == 1)   // the second slice's transaction has not started
        #expect(try await s.store.scores(stream: s.stream, from: 0, to: .infinity).isEmpty)
        await disk.release()
        await flushing.value
        await s.pipeline.flush()   // and what flushOverlapping left in flight
        let scores = try await s.store.scores(stream: s.stream, from: 0, to: .infinity)
        #expect(scores.map(\.time) == (window - 1..<window + 31).map { 1000 + c.times[$0] })
        #expect(await disk.entered == 2)
    }

    @Test func ingestIsAcknowledgedWhileAForwardPassRuns() async throws {
        let gate = ForwardGate()
        let s = try await Setup(gate: gate)
        let window = try #require(await s.pipeline.loadedModel("m1")).model.window
        let c = MachineSimulator(seed: 2).cycle(0)
        _ = try await s.send(c, 0..<(window + 10))
        let first = s.pipeline.queued
        #expect(first == 11)
        // A flush takes the queued windows and its forward pass stops at the gate.
        let flush = Task { await s.pipeline.flush() }
        while await gate.entered == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(s.pipeline.queued == 0)
        // Ingest goes on: committed, acknowledged, its windows queued beside the running pass.
        let done = Mutex(false)
        let acked = Task {
            let ack = try await s.send(c, (window + 10)..<(window + 30))
            done.withLock { $0 = true }
            return ack
        }
        var waited = 0
        while !done.withLock({ $0 }) && waited < 5_000 {
            try await Task.sleep(for: .milliseconds(1))
            waited += 1
        }
        #expect(done.withLock { $0 }, "ingest waited on the forward pass")
        #expect(s.pipeline.queued == 20, "the second batch's windows were not queued while the first pass ran")
        #expect(try await s.store.scores(stream: s.stream, from: 0, to: .infinity).isEmpty)
        await gate.release()
        #expect(try await acked.value.rows == 20)
        await flush.value
        await s.pipeline.flush()
        // Every window scored once, in order.
        let scores = try await s.store.scores(stream: s.stream, from: 0, to: .infinity)
        #expect(scores.count == 31)
        #expect(zip(scores, scores.dropFirst()).allSatisfy { $0.time < $1.time })
        #expect(Set(scores.map(\.time)).count == 31)
    }

    /// An engineer acknowledges an event from a copy read before scoring escalated it: the owner
    /// applies the acknowledgement to the event as it is now, so the escalation stays.
    @Test func anAcknowledgementFromAStaleCopyKeepsTheEscalation() async throws {
        let s = try await Setup()
        let c = MachineSimulator(seed: 2).cycle(1, fault: .drift(sensor: "outlet_pressure", amount: 0.6))
        var opened: MaintenanceEvent?
        var escalated: MaintenanceEvent?
        for r in stride(from: 0, to: c.rows, by: 5) {
            _ = try await s.send(c, r..<min(c.rows, r + 5))
            await s.pipeline.flush()
            let events = try await s.store.events(status: nil, stream: s.stream)
            if opened == nil { opened = events.first }
            if let o = opened, let now = events.first(where: { $0.id == o.id }), now.severity != o.severity {
                escalated = now
                break
            }
        }
        let stale = try #require(opened, "the drifting cycle opened no event")
        let now = try #require(escalated, "the event was never escalated in this cycle")
        let saved = try await s.live.review(stale) { e in
            try e.acknowledge(by: "ana", at: 5, note: "checking the seal")
            return EventNote(eventID: e.id, author: "ana", note: "checking the seal", at: 5)
        }
        #expect(saved.severity == now.severity && saved.status == .acknowledged && saved.acknowledgedBy == "ana")
        let stored = try #require(try await s.store.event(stale.id))
        #expect(stored.severity == now.severity && stored.reason == now.reason && stored.status == .acknowledged)
    }

    /// The windows of every stream of a flush are written in one transaction; when it fails, each
    /// stream commits alone and only the failing one loses its scores.
    @Test func oneStreamsFailedScoringCommitCostsNoOtherStream() async throws {
        let s = try await Setup()
        let other = try await s.live.register(json: pumpRegister).streamID
        _ = try await s.live.cycleEvent(.start, stream: other, metadata: [:])
        let window = try #require(await s.pipeline.loadedModel("m1")).model.window
        let c = MachineSimulator(seed: 2).cycle(0)
        let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
        for stream in [s.stream, other] {
            let rows = (0..<(window + 4)).map { k in
                #"{"timestamp": \#(1000 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
            }
            _ = try await s.live.ingest(json: #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#)
        }
        #expect(s.pipeline.queued == 10)
        await s.store.refuseScores { $0.streamID == other }
        let failures = Self.counter(s.pipeline.metrics, "vertac_scoring_commit_failures_total")
        await s.pipeline.flush()
        #expect(try await s.store.scores(stream: s.stream, from: 0, to: .infinity).count == 5)
        #expect(try await s.store.scores(stream: other, from: 0, to: .infinity).isEmpty)
        #expect(Self.counter(s.pipeline.metrics, "vertac_scoring_commit_failures_total") == failures + 1)
        #expect(try await s.store.sensorStates(stream: s.stream).count == 8)
    }

    static func counter(_ m: ServerMetrics, _ name: String) -> Double {
        m.exposition().split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) } ?? 0
    }
}
