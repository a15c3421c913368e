import Foundation
import Inference
import Logging
import Model

/// What every stream owner shares: the store, the pushes, the pipeline and its queue, and the
/// one settings value the server was started with.
struct OwnerContext: Sendable {
    let store: any Store
    let hub: any PushSink
    let pipeline: ScoringPipeline
    let metrics: ServerMetrics
    let logger: Logger
    let limits: IngestLimits
    let settings: MonitorSettings
    let clock: @Sendable () -> Double
}

/// The model a stream is to be scored with.
struct ModelChoice: Sendable {
    let id: String
    let file: ModelFile
    /// Activated for this stream alone (not the global model).
    let assigned: Bool
}

/// The one owner of a stream's live state: its stored record, the last values carried forward,
/// and a ``StreamMonitor`` (cycle state machine, window buffer, live DTW, sensor states, open
/// events). Ingest, cycle commands, ticks, scored windows, model switches, maintenance windows
/// and engineers' changes to its events all go through here, one at a time in arrival order,
/// so that nothing is synced by hand between copies.
///
/// Ingest commits, cuts the windows its rows close and acknowledges; it never waits on a forward
/// pass: windows go to the shared ``ScoringQueue`` and come back through ``apply(_:)``.
actor StreamOwner {
    nonisolated let id: String
    private let context: OwnerContext
    private(set) var record: StreamRecord
    var monitor: StreamMonitor
    /// The stream's last row (in a cycle or not): missing values are carried on from it.
    private var lastValues: [Float?]
    /// The model that scores the stream and, per model sensor, the stream's sensor index.
    private var scoring: (choice: ModelChoice, map: [Int])?
    private var notScored = StreamOwner.noModel
    /// Bumped by every ``attach(_:restoring:)``: windows cut before it are not applied.
    private var generation = 0
    private var tail: Task<Void, Never>?
    /// The shared transaction that holds this stream's last scored windows, until it is known to
    /// have run: a write of sensor states or events, or a read of them, waits for it first (the
    /// transaction would otherwise overwrite the newer write, or the read miss it).
    private var pendingCommit: ScoringCommit?
    private var followUps: [@Sendable () async -> Void] = []
    /// Each model sensor's score in the last window applied (for `/metrics`).
    private var lastScores: [String: Float] = [:]

    static let noModel = "no model loaded: samples are stored and cycles tracked, nothing is scored"

    init(record: StreamRecord, cycle: CycleStateMachine, lastValues: [Float?], context: OwnerContext) {
        id = record.id
        self.record = record
        self.context = context
        self.lastValues = lastValues
        monitor = StreamMonitor(stream: record.id, cycle: cycle, settings: context.settings)
    }

    var store: any Store { context.store }
    private var hub: any PushSink { context.hub }

    // MARK: One at a time

    /// Runs `body` after every earlier command on this stream and its follow-ups. The caller
    /// gets the result as soon as `body` returns; work `body` hands to ``later(_:)`` (pushes)
    /// runs before the next command.
    func serialized<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tail
        let task = Task<T, Error> {
            await previous?.value
            return try await body()
        }
        tail = Task {
            _ = await task.result
            await self.runFollowUps()
        }
        return try await task.value
    }

    private func later(_ work: @escaping @Sendable () async -> Void) { followUps.append(work) }

    private func runFollowUps() async {
        let work = followUps
        followUps = []
        for w in work { await w() }
    }

    /// Waits until every command given so far has finished (tests, shutdown).
    func settle() async { _ = try? await serialized {} }

    // MARK: Ingest

    /// - Parameter arrival: when the batch reached the server (``ServerMetrics/now()``).
    func ingest(_ b: IngestBatch, arrival: UInt64) async throws -> IngestReceipt {
        if let id = b.batchID { try TextField.check(id, "batch_id", maxLength: 128) }
        return try await serialized { try await self.ingestNow(b, arrival: arrival) }
    }

    private func ingestNow(_ b: IngestBatch, arrival: UInt64) async throws -> IngestReceipt {
        let (rows, samples, filled) = try LiveService.rows(of: b, stream: record, lastValues: lastValues, limits: context.limits)
        // A retry of a committed batch gets its first answer and changes nothing.
        if let batchID = b.batchID, let earlier = try await store.acknowledgement(stream: id, batchID: batchID) {
            return IngestReceipt(ackID: earlier.ackID, samples: earlier.samples, rows: earlier.rows, duplicate: true)
        }
        if let last = record.lastTimestamp, let first = rows.first, first.time <= last {
            throw ServiceError(.timestampBackwards,
                               "timestamp \(Timestamp.format(first.time)) is not after the stream's last row at \(Timestamp.format(last))")
        }
        let now = context.clock()
        let cycleID = monitor.takesRows ? record.currentCycleID : nil
        let stored = rows.map { SampleRow(time: $0.time, values: $0.values, cycleID: cycleID) }
        var next = record
        next.lastTimestamp = rows.last?.time ?? next.lastTimestamp
        next.filledValues += filled
        next.lastActivity = max(next.lastActivity, now)
        let ack = BatchAck(ackID: UUID().uuidString.lowercased(), samples: samples, rows: rows.count)
        let started = DispatchTime.now().uptimeNanoseconds
        try await store.commitBatch(stream: next, rows: stored, batchID: b.batchID, ack: ack)
        context.metrics.batchCommit.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        context.metrics.ingestedRows.increment(by: rows.count)
        context.metrics.ingestedValues.increment(by: samples)
        record = next
        if let lastRow = rows.last { lastValues = lastRow.values.map { $0 } }
        let resumed = monitor.admit(at: now).outputs
        // The windows these rows close go to the queue now (no forward pass here).
        if let scoring, cycleID != nil {
            var windows: [QueuedWindow] = []
            for r in stored {
                guard let w = monitor.window(scoring.map.map { r.values[$0] }, at: r.time) else { continue }
                windows.append(QueuedWindow(window: w, owner: self, generation: generation, cycle: cycleID, model: scoring.choice.id, arrival: arrival))
            }
            if !windows.isEmpty { context.metrics.queuedWindows.record(context.pipeline.queue.append(windows)) }
        }
        // STALE sensors back to NORMAL (rare). The rows are committed: a failure here is logged
        // and does not fail their ingest.
        do { try await commitSensorChanges(resumed) } catch {
            context.logger.error("storing resumed sensor states failed", metadata: ["stream": "\(id)", "error": "\(error)"])
        }
        let sensors = next.sensors.map(\.name), stream = id, hub = hub
        if hub.wantsRows {
            later {
                await hub.publish(.samples(sensors: sensors, rows: stored), stream: stream)
                await hub.rows(stream: stream, sensors: sensors, rows: stored)
            }
        }
        return IngestReceipt(ackID: ack.ackID, samples: samples, rows: rows.count, duplicate: false)
    }

    // MARK: Cycles

    func cycleEvent(_ event: CycleEvent, metadata: [String: String]) async throws -> CycleOutcome {
        try await serialized { try await self.cycleEventNow(event, metadata: metadata) }
    }

    private func cycleEventNow(_ event: CycleEvent, metadata: [String: String]) async throws -> CycleOutcome {
        let now = context.clock()
        var m = monitor
        let outputs: [MonitorOutput]
        do {
            outputs = try m.handle(event, at: now)
        } catch let e as CycleEventError {
            throw ServiceError(.invalidCycleEvent, e.description)
        }
        var next = record
        var pushes: [Push] = []
        for case .cycle(let t) in outputs {
            if t.to == .active && event == .start {
                let cycle = CycleRecord(id: UUID().uuidString.lowercased(), streamID: id, number: m.cycle.cycle,
                                        state: .active, startedAt: now, metadata: metadata)
                try await store.saveCycle(cycle)
                next.currentCycleID = cycle.id
            } else {
                try await finish(t, of: next)
            }
            pushes.append(.cycleState(t, cycleID: next.currentCycleID))
        }
        next.follow(m.cycle)
        try await store.saveStream(next)
        record = next
        monitor = m
        publishLater(pushes)
        return CycleOutcome(streamID: id, cycleID: next.currentCycleID, state: m.cycle.state)
    }

    /// Whether a tick at `now` would change anything (most do not; they skip the queue).
    private func tickChanges(at now: Double) -> Bool {
        var probe = monitor.cycle
        let silent = now - monitor.cycle.lastActivity > context.settings.staleAfter
        return !probe.tick(at: now).isEmpty || (silent && monitor.sensors.contains { $0.state != .stale })
    }

    /// Advances the stream's clock: grace periods end, silent cycles abort, silent streams' sensors
    /// turn STALE.
    func tick(at now: Double) async throws {
        guard tickChanges(at: now) else { return }
        try await serialized { try await self.tickNow(now) }
    }

    private func tickNow(_ now: Double) async throws {
        var m = monitor
        let outputs = m.tick(at: now)
        var next = record
        var pushes: [Push] = []
        for case .cycle(let t) in outputs {
            try await finish(t, of: next)
            pushes.append(.cycleState(t, cycleID: next.currentCycleID))
        }
        if !pushes.isEmpty {
            next.follow(m.cycle)
            try await store.saveStream(next)
        }
        record = next
        monitor = m
        publishLater(pushes)
        try await commitSensorChanges(outputs)
    }

    /// Records the current cycle's new state; a cycle that reached STOPPED or ABORTED gets its
    /// report (in the background).
    private func finish(_ t: CycleTransition, of stream: StreamRecord) async throws {
        guard let cid = stream.currentCycleID, var c = try await store.cycle(cid) else { return }
        c.state = t.to
        let ended = t.to == .stopped || t.to == .aborted
        if ended { c.endedAt = t.time }
        try await store.saveCycle(c)
        if ended { await context.pipeline.cycleEnded(stream: stream, cycle: c, aborted: t.to == .aborted) }
    }

    /// Whether rows may still join the current cycle in this state (PAUSED: after a resume, into
    /// the same windows).
    static func cycleTakesRows(_ state: CycleState) -> Bool { state == .active || state == .paused || state == .stopping }

    // MARK: Scoring

    /// Scores the stream with `choice` from now on (nil: nothing is scored), its stored sensor
    /// states and open events restored, and its current cycle replayed into the new windows and
    /// alignment.
    ///
    /// - Parameter restoring: at start: the windows after the cycle's last stored score are
    ///   queued (their rows were acknowledged before a crash). On a model switch, the new model
    ///   scores from the next row on.
    func attach(_ choice: ModelChoice?, restoring: Bool = false) async throws {
        try await serialized { try await self.attachNow(choice, restoring: restoring) }
    }

    /// The model last attached (its id, and whether it was this stream's own), scored with or
    /// not: a cluster's servers compare it with the assignments they read again.
    private(set) var attached: (id: String, assigned: Bool)?

    private func attachNow(_ choice: ModelChoice?, restoring: Bool) async throws {
        await scoringSettled()
        generation += 1
        attached = choice.map { ($0.id, $0.assigned) }
        context.pipeline.queue.removeAll(of: self)
        monitor.score(with: nil)
        scoring = nil
        guard let choice else {
            notScored = Self.noModel
            return
        }
        if let reason = ScoringPipeline.mismatch(choice.file, record) {
            notScored = reason
            return
        }
        let names = record.sensors.map(\.name)
        let map = choice.file.sensors.map { names.firstIndex(of: $0)! }
        let settings = context.settings
        var scorer = StreamScorer(stream: id, model: choice.file, settings: settings)
        let stored = try await store.sensorStates(stream: id)
        let restored = choice.file.sensors.map { name -> SensorStateMachine in
            guard let st = stored.first(where: { $0.sensor == name }) else { return SensorStateMachine(settings: settings.sensor) }
            return SensorStateMachine(restoring: st.state, since: st.since, settings: settings.sensor, above: st.above,
                                      below: st.below, warningWindows: st.warningWindows)
        }
        var open: [Int: MaintenanceEvent] = [:]
        for e in try await store.events(status: nil, stream: id) where e.isOpen {
            if let j = choice.file.sensors.firstIndex(of: e.sensor) { open[j] = e }
        }
        scorer.restore(sensors: restored, openEvents: open)
        // Replay the current cycle through the same windowing as live rows, so that the window
        // buffer and the DTW alignment continue where they were. The stored sensor states and
        // events are those after the last stored score (one scoring commit holds both), so
        // windows up to it are rebuilt without a write; on restore, the windows after it — rows
        // acknowledged but never scored before a crash — are queued: every window is scored
        // once, in order.
        var replayed: [QueuedWindow] = []
        let now = ServerMetrics.now()
        if let cycle = record.currentCycleID, Self.cycleTakesRows(record.cycleState) {
            scorer.startCycle()
            let rows = try await store.samples(cycle: cycle)
            let lastScored = restoring
                ? try await store.scores(stream: id, from: rows.first?.time ?? 0, to: .infinity).last { $0.cycleID == cycle }?.time ?? -.infinity
                : .infinity
            for row in rows {
                if let w = scorer.ingest(map.map { row.values[$0] }, at: row.time), w.endTime > lastScored {
                    replayed.append(QueuedWindow(window: w, owner: self, generation: generation, cycle: cycle, model: choice.id, arrival: now))
                }
            }
        }
        monitor.score(with: scorer)
        scoring = (choice, map)
        context.pipeline.queue.append(replayed)
    }

    /// Takes the scored windows of this stream (in the order they were cut) into the sensor state
    /// machines and the maintenance policy, and adds what they caused to the flush's shared
    /// transaction; the stream goes on at once (ingest does not wait for the commit).
    ///
    /// - Parameter commit: the flush's shared transaction; this owner adds its part (or nil)
    ///   exactly once.
    /// - Returns: the pushes, which wait for the transaction (and, if it failed, commit this
    ///   stream's part alone first; a failure then is logged and costs no other stream).
    func apply(_ scored: [(WindowResult, QueuedWindow)], commit: ScoringCommit) async -> Task<Void, Never>? {
        (try? await serialized { await self.applyNow(scored, commit: commit) }) ?? nil
    }

    private func applyNow(_ scored: [(WindowResult, QueuedWindow)], commit: ScoringCommit) async -> Task<Void, Never>? {
        guard let scoring, let model = monitor.model else {
            commit.add(nil)
            return nil
        }
        var scores: [ScoreRecord] = [], transitions: [TransitionRecord] = [], arrivals: [UInt64] = [], events: [MaintenanceEvent] = []
        var last: WindowResult?
        for (r, q) in scored where q.generation == generation && q.model == scoring.choice.id {
            let outputs = monitor.apply(r)
            last = r
            var sensorScores = [Float](repeating: 0, count: scoring.map.count)
            for (j, idx) in scoring.map.enumerated() { sensorScores[idx] = r.sensorScores[j] }
            scores.append(ScoreRecord(streamID: id, cycleID: q.cycle, time: r.endTime, score: r.score, sensorScores: sensorScores))
            for o in outputs {
                switch o {
                case .sensor(let sensor, let t):
                    let evidence = t.evidence.flatMap { try? String(decoding: JSONEncoder().encode($0), as: UTF8.self) }
                    transitions.append(TransitionRecord(streamID: id, sensor: sensor, from: t.from, to: t.to,
                                                        time: t.time, reason: t.reason, evidenceJSON: evidence))
                    arrivals.append(q.arrival)
                case .eventOpened(let e), .eventEscalated(let e):
                    events.removeAll { $0.id == e.id }
                    events.append(e)
                case .cycle:
                    break
                }
            }
        }
        guard let last else {
            commit.add(nil)
            return nil
        }
        let part = ScoringCommit.Part(scores: scores, states: sensorStates(), transitions: transitions, events: events)
        commit.add(part)
        pendingCommit = commit
        let (stream, store, hub, metrics, logger) = (id, store, hub, context.metrics, context.logger)
        let message = WindowScores(
            time: last.endTime, score: last.score, windows: scores.count,
            sensorScores: Dictionary(uniqueKeysWithValues: zip(model.sensors, last.sensorScores)), modelID: scoring.choice.id)
        lastScores = message.sensorScores
        return Task.detached {
            if !(await commit.result()) {
                // The shared transaction failed: this stream's part alone.
                do {
                    try await store.commitScoring(scores: part.scores, states: part.states, transitions: part.transitions, events: part.events)
                } catch let e as FenceRefused {
                    // Handed over (or the lease lost) while these windows were scored: the new
                    // owner scores them again from the stored rows, so nothing is missing.
                    logger.info("scores of a stream handed over not committed; its new owner scores them",
                                metadata: ["stream": "\(stream)", "windows": "\(part.scores.count)", "fence": "\(e)"])
                    return
                } catch {
                    metrics.scoringFailures.increment()
                    logger.error("committing scores failed", metadata: ["stream": "\(stream)", "windows": "\(part.scores.count)", "error": "\(error)"])
                    return
                }
            }
            await hub.publish(.windowScores(message), stream: stream)
            for (t, arrival) in zip(transitions, arrivals) {
                Push.sensorState(t).log(to: logger, stream: stream)
                await hub.publish(.sensorState(t), stream: stream)
                ServerMetrics.since(arrival, into: metrics.stateChange)
            }
            for e in events {
                Push.maintenanceEvent(e).log(to: logger, stream: stream)
                await hub.publish(.maintenanceEvent(e), stream: stream)
            }
        }
    }

    /// Waits until the last scored windows' transaction ran (see ``pendingCommit``).
    func scoringSettled() async {
        guard let c = pendingCommit else { return }
        _ = await c.result()
        if pendingCommit === c { pendingCommit = nil }
    }

    /// The stored form of every sensor's state now.
    private func sensorStates() -> [SensorStateRecord] {
        guard let model = monitor.model else { return [] }
        return zip(model.sensors, monitor.sensors).map { name, sm in
            SensorStateRecord(streamID: id, sensor: name, state: sm.state, since: sm.since, above: sm.above,
                              below: sm.below, warningWindows: sm.warningWindows)
        }
    }

    /// Stores and pushes sensor transitions that no window caused (silence, resumed data,
    /// maintenance).
    func commitSensorChanges(_ outputs: [MonitorOutput]) async throws {
        let transitions = outputs.compactMap { o -> TransitionRecord? in
            guard case .sensor(let sensor, let t) = o else { return nil }
            return TransitionRecord(streamID: id, sensor: sensor, from: t.from, to: t.to, time: t.time, reason: t.reason, evidenceJSON: nil)
        }
        guard !transitions.isEmpty else { return }
        await scoringSettled()
        try await store.commitScoring(scores: [], states: sensorStates(), transitions: transitions, events: [])
        for t in transitions {
            Push.sensorState(t).log(to: context.logger, stream: id)
            await hub.publish(.sensorState(t), stream: id)
        }
    }

    private func publishLater(_ pushes: [Push]) {
        guard !pushes.isEmpty else { return }
        let (hub, stream, logger) = (hub, id, context.logger)
        later {
            for p in pushes {
                p.log(to: logger, stream: stream)
                await hub.publish(p, stream: stream)
            }
        }
    }

    // MARK: Status

    /// Whether the stream is scored, with which model, and if not, why.
    func scoringStatus() -> (scored: Bool, reason: String, model: String?) {
        guard let scoring else { return (false, notScored, nil) }
        return Self.scored(with: scoring.choice)
    }

    static func scored(with choice: ModelChoice) -> (scored: Bool, reason: String, model: String?) {
        (true, "scored with model \(choice.id)" + (choice.assigned ? " (assigned to this stream)" : ""), choice.id)
    }

    /// Whether a stream would be scored with `choice`, and if not, why (as ``scoringStatus()``
    /// says on the stream's owner).
    static func scoringStatus(of record: StreamRecord, with choice: ModelChoice?) -> (scored: Bool, reason: String, model: String?) {
        guard let choice else { return (false, noModel, nil) }
        if let reason = ScoringPipeline.mismatch(choice.file, record) { return (false, reason, nil) }
        return scored(with: choice)
    }

    /// The stream's gauges for `/metrics`.
    func gauges() -> StreamGauges {
        let names = monitor.model?.sensors ?? []
        var open: [EventSeverity: Int] = [:]
        for e in monitor.openEvents.values where e.isOpen { open[e.severity, default: 0] += 1 }
        return StreamGauges(
            stream: id, device: record.deviceName, cycleState: monitor.cycle.state, lastActivity: monitor.cycle.lastActivity,
            sensors: zip(names, monitor.sensors).map { ($0, $1.state, lastScores[$0]) }, openEvents: open)
    }

    func status() -> StreamStatus {
        let s = scoringStatus()
        return StreamStatus(
            streamID: id, deviceName: record.deviceName, state: monitor.cycle.state, cycleID: record.currentCycleID,
            cycleNumber: monitor.cycle.cycle, stateSince: monitor.cycle.since, lastSampleAt: record.lastTimestamp,
            filledForward: record.filledValues, sensors: record.sensors, lastValues: lastValues, scored: s.scored, scoring: s.reason)
    }
}

extension StreamRecord {
    /// Takes the cycle state machine's state, cycle number, state start and last activity.
    mutating func follow(_ cycle: CycleStateMachine) {
        cycleState = cycle.state
        cycleNumber = cycle.cycle
        stateSince = cycle.since
        lastActivity = cycle.lastActivity
    }
}
