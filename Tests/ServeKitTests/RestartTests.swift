import Foundation
import Inference
import Simulation
import Testing
@testable import ServeKit

/// A restart in the middle of a cycle changes nothing: the same cycle streamed with and without
/// a restart gives the same scores (each window once), sensor states, transitions and events.
@Suite(.serialized) struct RestartTests {
    enum Stop: String, CaseIterable, Sendable {
        /// No restart.
        case none
        /// SIGTERM: the normal shutdown path (the scoring service flushes and drains).
        case sigterm
        /// `kill -9`: the server is abandoned where it stands; the last batch is committed and
        /// acknowledged but not scored yet.
        case kill9
    }

    /// What a run leaves in the store, without the ids that differ from run to run.
    struct Outcome: Equatable, CustomStringConvertible {
        struct Score: Equatable { let time: Double; let score: Float; let sensorScores: [Float] }
        var scores: [Score] = []
        var states: [SensorStateRecord] = []
        var transitions: [TransitionRecord] = []
        var events: [MaintenanceEvent] = []
        var cycle: [String] = []

        var description: String {
            "\(scores.count) scores, states \(states.map { "\($0.sensor)=\($0.state)" }), "
                + "\(transitions.count) transitions, events \(events.map { "\($0.sensor) \($0.severity.rawValue)" }), cycle \(cycle)"
        }
    }

    /// Server settings on a fresh store of `kind` (PostgreSQL: a schema of its own, reached
    /// through search_path, as a restarted server reaches it).
    static func serverSettings(_ kind: StoreKind, _ dir: DataDir, _ clock: ManualClock) async throws -> ServerSettings {
        var s = settings(dir)
        s.modelPath = serverModelPath
        s.clock = { clock.time }
        if kind == .postgres {
            let schema = "r_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            _ = try await PostgresStore.open(url: postgresURL!, schema: schema)
            s.databaseURL = postgresURL! + (postgresURL!.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
        }
        return s
    }

    /// Streams one cycle with a drifting sensor in batches of ten rows, scoring after each batch
    /// except the one that ends at `restartRow`; there the server stops as `stop` says and a new
    /// one starts on the same store and takes the rest of the cycle.
    ///
    /// - Parameter flushAtRestart: without a restart, score at `restartRow` as the SIGTERM path
    ///   does. A window's score depends on the batch it was scored in, in the last bits (the
    ///   forward pass's matrix products differ with the batch size), so a run is compared with
    ///   a reference scored in the same batches.
    static func run(_ kind: StoreKind, stop: Stop, restartRow: Int, flushAtRestart: Bool = false) async throws -> Outcome {
        let dir = DataDir()
        let clock = ManualClock(1_767_225_600)
        let s = try await serverSettings(kind, dir, clock)
        var parts = try await makeServerParts(s, logger: .init(label: "test"))
        let stream = try await parts.live.register(json: pumpRegister).streamID
        let c = MachineSimulator(seed: 2).cycle(1, fault: .drift(sensor: "outlet_pressure", amount: 0.6))
        let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
        _ = try await parts.live.cycleEvent(.start, stream: stream, metadata: [:])
        var r = 0
        while r < c.rows {
            if r == restartRow && stop == .none && flushAtRestart { await parts.pipeline.flush() }
            if r == restartRow && stop != .none {
                if stop == .sigterm {
                    await parts.pipeline.flush()
                    await parts.pipeline.drainReports()
                }
                parts = try await makeServerParts(s, logger: .init(label: "test"))
            }
            let n = min(10, c.rows - r)
            let rows = (r..<r + n).map { k in
                #"{"timestamp": \#(1000 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
            }
            let body = #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#
            _ = try await parts.live.ingest(json: body)
            clock.advance(Double(n))
            r += n
            // Scoring runs behind ingest: the batch that ends at the restart is acknowledged, not scored.
            if r != restartRow { await parts.pipeline.flush() }
        }
        _ = try await parts.live.cycleEvent(.stop, stream: stream, metadata: [:])
        clock.advance(11)
        try await parts.live.tick()
        await parts.pipeline.flush()
        await parts.pipeline.drainReports()

        let store = parts.store
        var o = Outcome()
        o.scores = try await store.scores(stream: stream, from: 0, to: .infinity).map { .init(time: $0.time, score: $0.score, sensorScores: $0.sensorScores) }
        o.states = try await store.sensorStates(stream: stream).map { var x = $0; x.streamID = ""; return x }.sorted { $0.sensor < $1.sensor }
        // Evidence decoded and encoded again with sorted keys: JSON key order is no part of it.
        let sorted = JSONEncoder()
        sorted.outputFormatting = .sortedKeys
        o.transitions = try await store.transitions(stream: stream, limit: 10_000).map { t in
            var x = t
            x.streamID = ""
            x.evidenceJSON = try t.evidenceJSON.map {
                String(decoding: try sorted.encode(try JSONDecoder().decode(SensorEvidence.self, from: Data($0.utf8))), as: UTF8.self)
            }
            return x
        }
        o.events = try await store.events(status: nil, stream: stream).map { var e = $0; (e.id, e.stream) = ("", ""); return e }
            .sorted { ($0.openedAt, $0.sensor) < ($1.openedAt, $1.sensor) }
        let cycle = try #require(try await store.cycles(stream: stream).first)
        o.cycle = [cycle.state.rawValue, "\(cycle.rows)", "\(cycle.healthScore ?? -1)", cycle.severity?.rawValue ?? "-"]
        // Every window of the cycle scored, each once: one score per row from the T-th on.
        let modelID = try #require(await parts.pipeline.modelID(for: stream))
        let window = try #require(await parts.pipeline.loadedModel(modelID)).model.window
        #expect(o.scores.count == c.rows - window + 1, "\(stop) at row \(restartRow): \(o.scores.count) scores for \(c.rows) rows")
        #expect(zip(o.scores, o.scores.dropFirst()).allSatisfy { $0.time < $1.time })
        return o
    }

    /// A cycle that finished while its post-cycle report was being computed when the server
    /// stopped (or, in a cluster, when its stream moved) gets its report from the next owner.
    @Test(arguments: StoreKind.available)
    func aReportLostAtAStopIsMadeAtTheNextStart(kind: StoreKind) async throws {
        let dir = DataDir()
        let clock = ManualClock(1_767_225_600)
        let s = try await Self.serverSettings(kind, dir, clock)
        var parts = try await makeServerParts(s, logger: .init(label: "test"))
        let stream = try await parts.live.register(json: pumpRegister).streamID
        let c = MachineSimulator(seed: 2).cycle(0)
        let order = MachineSimulator.sensors.reversed().map { MachineSimulator.sensors.firstIndex(of: $0)! }
        _ = try await parts.live.cycleEvent(.start, stream: stream, metadata: [:])
        let rows = (0..<c.rows).map { k in
            #"{"timestamp": \#(1000 + c.times[k]), "values": [\#(order.map { "\(c.values[k * 8 + $0])" }.joined(separator: ","))]}"#
        }
        _ = try await parts.live.ingest(json: #"{"stream_id": "\#(stream)", "rows": [\#(rows.joined(separator: ","))]}"#)
        _ = try await parts.live.cycleEvent(.stop, stream: stream, metadata: [:])
        clock.advance(11)
        try await parts.live.tick()
        await parts.pipeline.flush()
        await parts.pipeline.drainReports()
        let reported = try #require(try await parts.store.cycles(stream: stream).first)
        #expect(reported.state == .stopped && reported.reportJSON != nil)
        // As if the server had stopped before the report was stored.
        var lost = reported
        (lost.reportJSON, lost.healthScore, lost.severity, lost.anomalous) = (nil, nil, nil, nil)
        try await parts.store.saveCycle(lost)
        parts = try await makeServerParts(s, logger: .init(label: "test"))
        await parts.pipeline.drainReports()
        let again = try #require(try await parts.store.cycle(reported.id))
        #expect(again.reportJSON != nil && again.healthScore == reported.healthScore, "the report was not made again at the restart")
    }

    @Test(arguments: StoreKind.available, [40, 60])
    func aRestartMidCycleChangesNothing(kind: StoreKind, restartRow: Int) async throws {
        for stop in [Stop.sigterm, .kill9] {
            let reference = try await Self.run(kind, stop: .none, restartRow: restartRow, flushAtRestart: stop == .sigterm)
            #expect(!reference.transitions.isEmpty && !reference.events.isEmpty, "the fault should show: \(reference)")
            let restarted = try await Self.run(kind, stop: stop, restartRow: restartRow)
            #expect(restarted.scores == reference.scores, "\(stop): scores differ")
            #expect(restarted.states == reference.states, "\(stop): \(restarted.states) vs \(reference.states)")
            #expect(restarted.transitions == reference.transitions, "\(stop): transitions differ")
            #expect(restarted.events == reference.events, "\(stop): \(restarted) vs \(reference)")
            #expect(restarted.cycle == reference.cycle)
        }
    }
}
