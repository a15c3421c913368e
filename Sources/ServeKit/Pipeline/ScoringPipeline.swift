import Foundation
import Inference
import Logging
import Model

/// Scores the windows of every stream in shared batches and turns the results into stored and
/// pushed sensor states, transitions, maintenance events and post-cycle reports.
///
/// Rows arrive after they are committed; windows wait in a queue that ``flush()`` empties in
/// one forward pass (the server flushes every few milliseconds, or as soon as 256 wait).
public actor ScoringPipeline {
    let store: any Store
    let hub: LiveHub
    let logger: Logger
    let settings: MonitorSettings
    let metrics: ServerMetrics

    /// A loaded model and the batched scorer over it.
    struct Loaded {
        let file: ModelFile
        let scorer: BatchScorer
    }
    private var loaded: [String: Loaded] = [:]
    /// The global active model, and per-stream assignments (current last).
    private(set) var globalModel: String?
    private var assignments: [String: [String]] = [:]
    private var streams: [String: StreamScorer] = [:]
    private var streamModel: [String: String] = [:]
    /// For each stream, the stream's sensor index of each model sensor.
    private var mapping: [String: [Int]] = [:]
    private var reasons: [String: String] = [:]
    private var records: [String: StreamRecord] = [:]
    /// A window waiting to be scored: its cycle, the model that scores it, and when the batch
    /// holding its last row reached the server (for ``ServerMetrics/stateChange``).
    typealias Queued = (window: PendingWindow, cycle: String?, model: String, arrival: UInt64)
    private var pending: [Queued] = []
    /// Bumped by every ``attach(_:restoring:)``: results of windows queued before it are dropped.
    private var generation: [String: Int] = [:]
    private var reports: [Task<Void, Never>] = []
    public static let batchLimit = 256

    public init(store: any Store, hub: LiveHub, settings: MonitorSettings = .init(), metrics: ServerMetrics = ServerMetrics(),
                logger: Logger = Logger(label: "vertac-serve")) {
        self.store = store
        self.hub = hub
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    /// The model a stream is scored with: its own assignment, else the global one.
    func modelID(for stream: String) -> String? { assignments[stream]?.last ?? globalModel }

    public func loadedModel(_ id: String) -> ModelFile? { loaded[id]?.file }

    /// Makes a model available under `id` (no stream uses it until it is activated).
    public func load(_ id: String, _ file: ModelFile) {
        if loaded[id] == nil { loaded[id] = Loaded(file: file, scorer: BatchScorer(model: file, threads: ProcessInfo.processInfo.activeProcessorCount)) }
    }

    /// Restores assignments from the store (at start).
    public func restoreAssignments(global: String?, perStream: [String: [String]]) {
        globalModel = global
        assignments = perStream
    }

    /// Uses `m` as the global model for every stream whose sensors match it (kept for
    /// compatibility with a single `--model`).
    public func setModel(_ m: ModelFile?, streams records: [StreamRecord]) async throws {
        if let m {
            load("default", m)
            globalModel = "default"
        } else {
            globalModel = nil
        }
        for r in records { try await attach(r) }
    }

    /// Activates a loaded model globally (stream nil) or for one stream, without a restart: the
    /// affected streams switch at once, their current cycle replayed into the new model's
    /// windows so that nothing already received is skipped.
    ///
    /// - Throws: ``APIError`` 409 naming the sensors when a stream's sensors do not match.
    public func activate(_ id: String, stream: String?) async throws {
        guard let model = loaded[id]?.file else { throw APIError.notFound("unknown_model", "no model \"\(id)\" is loaded") }
        if let stream {
            guard let r = records[stream] else { throw APIError.notFound("unknown_stream", "no stream \"\(stream)\"") }
            if let reason = Self.mismatch(model, r) { throw APIError.conflict("sensor_mismatch", reason) }
            assignments[stream, default: []].append(id)
            try await store.saveAssignment(stream: stream, history: assignments[stream]!)
            try await attach(r)
        } else {
            globalModel = id
            for r in records.values where assignments[r.id] == nil { try await attach(r) }
        }
    }

    /// Goes back to the model a stream used before its last activation.
    ///
    /// - Returns: the model now in use for the stream (nil: the global one).
    public func rollback(stream: String) async throws -> String? {
        guard var history = assignments[stream], !history.isEmpty else {
            throw APIError.conflict("nothing_to_roll_back", "stream \(stream) has no earlier model assignment")
        }
        history.removeLast()
        assignments[stream] = history.isEmpty ? nil : history
        try await store.saveAssignment(stream: stream, history: history)
        if let r = records[stream] { try await attach(r) }
        return history.last
    }

    /// Why a model cannot score a stream, or nil when the sensors match.
    static func mismatch(_ model: ModelFile, _ r: StreamRecord) -> String? {
        let names = r.sensors.map(\.name)
        guard Set(names) != Set(model.sensors) || names.count != model.sensors.count else { return nil }
        let missing = model.sensors.filter { !names.contains($0) }, extra = names.filter { !model.sensors.contains($0) }
        return "the model's sensors do not match stream \(r.id) (missing from the stream: \(missing.joined(separator: ", ")); not in the model: \(extra.joined(separator: ", ")))"
    }

    /// Prepares scoring for a stream with its model (restoring its sensor states and replaying
    /// the active cycle's rows), or records why it is not scored.
    ///
    /// - Parameter restoring: at start: the windows after the cycle's last stored score are
    ///   scored (their rows were acknowledged before a crash). On a model switch, the new model
    ///   scores from the next row on.
    public func attach(_ r: StreamRecord, restoring: Bool = false) async throws {
        generation[r.id, default: 0] += 1
        records[r.id] = r
        streams[r.id] = nil
        mapping[r.id] = nil
        pending.removeAll { $0.window.stream == r.id }
        guard let id = modelID(for: r.id), let model = loaded[id]?.file else {
            reasons[r.id] = "no model loaded: samples are stored and cycles tracked, nothing is scored"
            return
        }
        if let reason = Self.mismatch(model, r) {
            reasons[r.id] = reason
            return
        }
        let names = r.sensors.map(\.name)
        let map = model.sensors.map { names.firstIndex(of: $0)! }
        var s = StreamScorer(stream: r.id, model: model, settings: settings)
        let stored = try await store.sensorStates(stream: r.id)
        let restored = model.sensors.map { name -> SensorStateMachine in
            guard let st = stored.first(where: { $0.sensor == name }) else {
                return SensorStateMachine(settings: settings.sensor)
            }
            return SensorStateMachine(restoring: st.state, since: st.since, settings: settings.sensor, above: st.above,
                                      below: st.below, warningWindows: st.warningWindows)
        }
        var open: [Int: MaintenanceEvent] = [:]
        for e in try await store.events(status: nil, stream: r.id) where e.isOpen {
            if let j = model.sensors.firstIndex(of: e.sensor) { open[j] = e }
        }
        s.restore(sensors: restored, openEvents: open)
        // Replay the current cycle through the same ingest as live rows, so that the window
        // buffer and the DTW alignment continue where they were. The stored sensor states and
        // events are those after the last stored score (one scoring commit holds both), so
        // windows up to it are rebuilt without a write; on restore, the windows after it — rows
        // acknowledged but never scored before a crash — are queued: every window is scored
        // once, in order.
        var replayed: [Queued] = []
        let now = ServerMetrics.now()
        if let cycle = r.currentCycleID, Self.cycleTakesRows(r.cycleState) {
            s.startCycle()
            let rows = try await store.samples(cycle: cycle)
            let lastScored = restoring
                ? try await store.scores(stream: r.id, from: rows.first?.time ?? 0, to: .infinity).last { $0.cycleID == cycle }?.time ?? -.infinity
                : .infinity
            for row in rows {
                if let w = s.ingest(map.map { row.values[$0] }, at: row.time), w.endTime > lastScored { replayed.append((w, cycle, id, now)) }
            }
        }
        streams[r.id] = s
        streamModel[r.id] = id
        mapping[r.id] = map
        reasons[r.id] = nil
        pending += replayed
    }

    /// Whether rows may still join the current cycle in this state (PAUSED: after a resume, into
    /// the same windows).
    static func cycleTakesRows(_ state: CycleState) -> Bool { state == .active || state == .paused || state == .stopping }

    /// Whether a stream is scored, and if not, why.
    public func scoring(_ stream: String) -> (scored: Bool, reason: String) {
        if streams[stream] != nil, let id = streamModel[stream] {
            return (true, "scored with model \(id)" + (assignments[stream] != nil ? " (assigned to this stream)" : ""))
        }
        return (false, reasons[stream] ?? "not scored")
    }

    public var queued: Int { pending.count }

    /// Whether a model was activated for this stream alone (rather than the global one).
    public func hasOwnModel(_ stream: String) -> Bool { !(assignments[stream]?.isEmpty ?? true) }

    public func startCycle(_ stream: String) { streams[stream]?.startCycle() }

    /// Keeps the pipeline's copy of a stream record current (cycle ids for replays).
    public func update(_ r: StreamRecord) { records[r.id] = r }

    /// An engineer acknowledged an event or added a note: a later escalation keeps it.
    public func eventReviewed(_ e: MaintenanceEvent) { streams[e.stream]?.eventReviewed(e) }

    /// The stream sends again: its STALE sensors become NORMAL (stored and pushed). The rows
    /// are committed by then, so a failure here is logged and does not fail their ingest.
    public func dataResumed(_ stream: String, at time: Double) async {
        guard var s = streams[stream], s.sensors.contains(where: { $0.state == .stale }) else { return }
        let outputs = s.dataResumed(at: time)
        streams[stream] = s
        do {
            try await commitSensorChanges(stream, outputs)
        } catch {
            logger.error("storing resumed sensor states failed", metadata: ["stream": "\(stream)", "error": "\(error)"])
        }
    }

    /// An engineer resolved an event: a new one may open for that sensor.
    public func eventResolved(stream: String, sensor: String) {
        guard let j = streams[stream]?.model.sensors.firstIndex(of: sensor) else { return }
        streams[stream]?.eventResolved(sensor: j)
    }

    /// The stream went silent: its sensors become STALE (stored and pushed).
    public func markStale(_ stream: String, at time: Double) async throws {
        guard var s = streams[stream] else { return }
        let outputs = s.markStale(at: time)
        streams[stream] = s
        try await commitSensorChanges(stream, outputs)
    }

    /// Starts or ends a maintenance window: every sensor SUPPRESSED (windows are ignored, no event
    /// opens), or back to NORMAL. Stored, so it outlasts a restart. Returns whether the stream is
    /// scored (a stream without a model has no sensor states to suppress).
    public func setMaintenance(_ stream: String, active: Bool, at time: Double) async throws -> Bool {
        guard var s = streams[stream] else { return false }
        let outputs = s.setMaintenance(active, at: time)
        streams[stream] = s
        try await commitSensorChanges(stream, outputs)
        return true
    }

    /// Stores and pushes sensor transitions that no window caused (silence, maintenance).
    private func commitSensorChanges(_ stream: String, _ outputs: [MonitorOutput]) async throws {
        guard let s = streams[stream], !outputs.isEmpty else { return }
        let transitions = outputs.compactMap { o -> TransitionRecord? in
            guard case .sensor(let sensor, let t) = o else { return nil }
            return TransitionRecord(streamID: stream, sensor: sensor, from: t.from, to: t.to, time: t.time,
                                    reason: t.reason, evidenceJSON: nil)
        }
        let states = zip(s.model.sensors, s.sensors).map { name, sm in
            SensorStateRecord(streamID: stream, sensor: name, state: sm.state, since: sm.since, above: sm.above,
                              below: sm.below, warningWindows: sm.warningWindows)
        }
        try await store.commitScoring(scores: [], states: states, transitions: transitions, events: [])
        for t in transitions {
            await hub.publish(.sensorState(SensorStateMessage(
                sensor: t.sensor, from: t.from.rawValue, to: t.to.rawValue, time: Timestamp.format(t.time), reason: t.reason)), stream: stream)
        }
    }

    /// Committed rows of the active cycle (stream sensor order), from a batch that reached the
    /// server at `arrival`.
    public func rows(_ stream: String, _ rows: [SampleRow], arrival: UInt64 = ServerMetrics.now()) {
        guard var s = streams[stream], let map = mapping[stream], let id = streamModel[stream] else { return }
        for r in rows where r.cycleID != nil {
            if let w = s.ingest(map.map { r.values[$0] }, at: r.time) { pending.append((w, r.cycleID, id, arrival)) }
        }
        streams[stream] = s
        metrics.queuedWindows.record(pending.count)
    }

    /// The forward passes of one flush, on the global executor rather than the actor's.
    nonisolated static func forward(_ parts: [(scorer: BatchScorer, windows: [PendingWindow])]) async -> [WindowResult] {
        parts.flatMap { $0.scorer.score($0.windows) }
    }

    /// Scores every queued window in one batch and commits and pushes what it caused. Flushes run
    /// one at a time, in order (a second caller waits for the running one): windows reach the
    /// state machines in the order they were queued.
    public func flush() async throws {
        while let running = flushing { _ = try? await running.value }
        let task = Task { try await self.flushNow() }
        flushing = task
        defer { flushing = nil }
        try await task.value
    }

    private var flushing: Task<Void, Error>?

    private func flushNow() async throws {
        guard !pending.isEmpty else { return }
        let all = pending
        pending = []
        let started = DispatchTime.now().uptimeNanoseconds
        // One forward pass per model in use (usually one), off the actor: ingest, commands and
        // reviews go on meanwhile. A stream attached again meanwhile (model switch, restore) has
        // a new generation, and its windows of this batch are dropped (attach queued them anew).
        var batch: [Queued] = []
        var parts: [(scorer: BatchScorer, windows: [PendingWindow])] = []
        for id in Set(all.map(\.model)) {
            guard let scorer = loaded[id]?.scorer else { continue }
            let part = all.filter { $0.model == id }
            batch += part
            parts.append((scorer, part.map(\.window)))
        }
        let generations = batch.map { generation[$0.window.stream] ?? 0 }
        let results = await Self.forward(parts)
        metrics.scoringLatency.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        metrics.scoringBatchSize.record(batch.count)
        metrics.windowsScored.increment(by: batch.count)
        var byStream: [String: (scores: [ScoreRecord], transitions: [TransitionRecord], arrivals: [UInt64], events: [MaintenanceEvent])] = [:]
        for (k, r) in results.enumerated() {
            guard generation[r.stream] ?? 0 == generations[k], var s = streams[r.stream], let map = mapping[r.stream],
                  streamModel[r.stream] == batch[k].model else { continue }
            let outputs = s.apply(r)
            streams[r.stream] = s
            var sensorScores = [Float](repeating: 0, count: map.count)
            for (j, idx) in map.enumerated() { sensorScores[idx] = r.sensorScores[j] }
            var entry = byStream[r.stream] ?? ([], [], [], [])
            entry.scores.append(ScoreRecord(streamID: r.stream, cycleID: batch[k].cycle, time: r.endTime, score: r.score, sensorScores: sensorScores))
            for o in outputs {
                switch o {
                case .sensor(let sensor, let t):
                    let evidence = t.evidence.flatMap { try? String(decoding: JSONEncoder().encode($0), as: UTF8.self) }
                    entry.transitions.append(TransitionRecord(streamID: r.stream, sensor: sensor, from: t.from, to: t.to,
                                                              time: t.time, reason: t.reason, evidenceJSON: evidence))
                    entry.arrivals.append(batch[k].arrival)
                case .eventOpened(let e), .eventEscalated(let e):
                    entry.events.removeAll { $0.id == e.id }
                    entry.events.append(e)
                case .cycle:
                    break
                }
            }
            byStream[r.stream] = entry
        }
        // Each stream commits on its own: one stream's failure is logged and never costs another
        // stream its scores, states or events.
        for (stream, entry) in byStream {
            guard let s = streams[stream] else { continue }
            let model = s.model
            let states = zip(model.sensors, s.sensors).map { name, sm in
                SensorStateRecord(streamID: stream, sensor: name, state: sm.state, since: sm.since, above: sm.above,
                                  below: sm.below, warningWindows: sm.warningWindows)
            }
            do {
                try await store.commitScoring(scores: entry.scores, states: states, transitions: entry.transitions, events: entry.events)
            } catch {
                metrics.scoringFailures.increment()
                logger.error("committing scores failed", metadata: ["stream": "\(stream)", "windows": "\(entry.scores.count)", "error": "\(error)"])
                continue
            }
            if let last = entry.scores.last {
                await hub.publish(.windowScores(WindowScoresMessage(
                    time: Timestamp.format(last.time), score: last.score, windows: entry.scores.count,
                    sensor_scores: Dictionary(uniqueKeysWithValues: zip(model.sensors, model.sensors.map { name in
                        last.sensorScores[mapping[stream]![model.sensors.firstIndex(of: name)!]]
                    })), model_id: streamModel[stream] ?? "")), stream: stream)
            }
            for (t, arrival) in zip(entry.transitions, entry.arrivals) {
                await hub.publish(.sensorState(SensorStateMessage(
                    sensor: t.sensor, from: t.from.rawValue, to: t.to.rawValue, time: Timestamp.format(t.time), reason: t.reason)), stream: stream)
                ServerMetrics.since(arrival, into: metrics.stateChange)
            }
            for e in entry.events { await hub.publish(.maintenanceEvent(e), stream: stream) }
        }
    }

    /// Computes and stores the post-cycle report of a cycle that reached STOPPED or ABORTED, in
    /// the background.
    public func cycleEnded(stream: StreamRecord, cycle: CycleRecord, aborted: Bool) {
        let id = modelID(for: stream.id)
        let model = id.flatMap { loaded[$0]?.file }
        let task = Task { [store, hub, logger] in
            do {
                try await Self.report(stream: stream, cycle: cycle, aborted: aborted, model: model, modelID: id, store: store, hub: hub)
            } catch {
                logger.error("post-cycle report failed", metadata: ["cycle": "\(cycle.id)", "error": "\(error)"])
            }
        }
        reports.append(task)
    }

    /// Waits for the reports under way (tests, shutdown).
    public func drainReports() async {
        let tasks = reports
        reports = []
        for t in tasks { await t.value }
    }

    static func report(stream: StreamRecord, cycle: CycleRecord, aborted: Bool, model: ModelFile?, modelID: String?,
                       store: any Store, hub: LiveHub) async throws {
        guard let model, model.reference != nil else { return }
        let names = stream.sensors.map(\.name)
        guard Set(names) == Set(model.sensors) else { return }
        let map = model.sensors.map { names.firstIndex(of: $0)! }
        let rows = try await store.samples(cycle: cycle.id)
        guard rows.count >= 2 else { return }
        func values(_ rs: [SampleRow]) -> [Float] { rs.flatMap { r in map.map { r.values[$0] } } }
        let previous = try await store.cycles(stream: stream.id).first { $0.number == cycle.number - 1 }
        var previousRows: [SampleRow]?
        if let previous { previousRows = try await store.samples(cycle: previous.id) }
        guard let input = CycleReportInput(model: model, values: values(rows), times: rows.map(\.time),
                                           previous: previousRows.flatMap { $0.count >= 2 ? values($0) : nil },
                                           aborted: aborted) else { return }
        var report = CycleReport.make(input, threads: 2)
        report.modelID = modelID
        guard var c = try await store.cycle(cycle.id) else { return }
        c.healthScore = report.healthScore
        c.anomalous = report.anomalous
        c.severity = report.severity
        c.reportJSON = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        try await store.saveCycle(c)
        await hub.publish(.cycleReport(CycleReportMessage(
            cycle_id: c.id, model_id: modelID, sensors: model.sensors, health_score: report.healthScore, severity: report.severity.rawValue,
            anomalous: report.anomalous, top_sensors: report.sensors.prefix(3).map { $0.sensor }, stop_cause: report.stopCause?.rawValue)),
            stream: stream.id)
    }
}

