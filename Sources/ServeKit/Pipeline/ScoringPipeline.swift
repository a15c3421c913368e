import Foundation
import Inference
import Logging
import Model

/// The models the server holds and the forward passes over them: scores the queued windows of
/// every stream in shared batches and hands each stream's results back to its owner, which
/// turns them into stored and pushed states, transitions and maintenance events.
///
/// Ingest never waits here: owners append windows to ``queue`` (a lock, no actor hop) and the
/// server flushes every few milliseconds; the forward pass runs off this actor.
actor ScoringPipeline {
    let store: any Store
    let hub: any PushSink
    let logger: Logger
    nonisolated let settings: MonitorSettings
    nonisolated let metrics: ServerMetrics
    /// Windows waiting for the next flush.
    nonisolated let queue = ScoringQueue()

    /// A loaded model and the batched scorer over it.
    struct Loaded {
        let file: ModelFile
        let scorer: BatchScorer
    }
    private var loaded: [String: Loaded] = [:]
    /// The global active model, and per-stream assignments (current last).
    private(set) var globalModel: String?
    private var assignments: [String: [String]] = [:]
    /// Reports under way; each removes itself when done.
    private var reports: [UUID: Task<Void, Never>] = [:]
    private var flushing: Task<Void, Never>?
    /// The last slice's transaction and pushes, while they may still run (``flushOverlapping()``).
    private var inFlight: (commit: ScoringCommit, published: [Task<Void, Never>])?
    /// Most windows one forward pass and its transaction take. A flush scores the queue in
    /// slices of this size, so that what a flush holds (inputs, results, the rows of its
    /// transaction) stays the same however long the queue is: under overload the queue is full
    /// and memory must not grow with it.
    let sliceLimit: Int
    /// The forward pass; tests put a slower one at this seam to see that ingest does not wait.
    let forward: @Sendable ([(scorer: BatchScorer, windows: [PendingWindow])]) async -> [WindowResult]

    init(store: any Store, hub: any PushSink, settings: MonitorSettings = .init(), metrics: ServerMetrics = ServerMetrics(),
                logger: Logger = Logger(label: "vertac-serve")) {
        self.init(store: store, hub: hub, settings: settings, metrics: metrics, logger: logger, forward: Self.forward)
    }

    init(store: any Store, hub: any PushSink, settings: MonitorSettings, metrics: ServerMetrics, logger: Logger, sliceLimit: Int = 2_048,
         forward: @escaping @Sendable ([(scorer: BatchScorer, windows: [PendingWindow])]) async -> [WindowResult]) {
        precondition(sliceLimit > 0, "a slice holds at least one window")
        self.sliceLimit = sliceLimit
        self.store = store
        self.hub = hub
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.forward = forward
    }

    // MARK: Models

    /// The model a stream is scored with: its own assignment, else the global one.
    func modelID(for stream: String) -> String? { assignments[stream]?.last ?? globalModel }

    /// The model a stream is scored with and its file, when it is loaded.
    func model(for stream: String) -> (id: String, file: ModelFile)? {
        guard let id = modelID(for: stream), let file = loaded[id]?.file else { return nil }
        return (id, file)
    }

    func loadedModel(_ id: String) -> ModelFile? { loaded[id]?.file }

    /// Makes a model available under `id` (no stream uses it until it is activated).
    func load(_ id: String, _ file: ModelFile) {
        if loaded[id] == nil { loaded[id] = Loaded(file: file, scorer: BatchScorer(model: file, threads: ProcessInfo.processInfo.activeProcessorCount)) }
    }

    /// Restores assignments from the store (at start).
    func restoreAssignments(global: String?, perStream: [String: [String]]) {
        globalModel = global
        assignments = perStream
    }

    /// Makes `id` the global model (the caller re-attaches the streams that follow it).
    func setGlobal(_ id: String) { globalModel = id }

    /// Assigns `id` to one stream and stores the assignment history.
    func assign(_ id: String, stream: String) async throws {
        assignments[stream, default: []].append(id)
        try await store.saveAssignment(stream: stream, history: assignments[stream]!)
    }

    /// Goes back to the model a stream used before its last activation.
    ///
    /// - Returns: the stream's own model now (nil: the global one).
    func unassign(stream: String) async throws -> String? {
        guard var history = assignments[stream], !history.isEmpty else {
            throw ServiceError(.nothingToRollBack, "stream \(stream) has no earlier model assignment")
        }
        history.removeLast()
        assignments[stream] = history.isEmpty ? nil : history
        try await store.saveAssignment(stream: stream, history: history)
        return history.last
    }

    /// Whether a model was activated for this stream alone (rather than the global one).
    func hasOwnModel(_ stream: String) -> Bool { !(assignments[stream]?.isEmpty ?? true) }

    /// Why a model cannot score a stream, or nil when the sensors match.
    static func mismatch(_ model: ModelFile, _ r: StreamRecord) -> String? {
        let names = r.sensors.map(\.name)
        guard Set(names) != Set(model.sensors) || names.count != model.sensors.count else { return nil }
        let missing = model.sensors.filter { !names.contains($0) }, extra = names.filter { !model.sensors.contains($0) }
        return "the model's sensors do not match stream \(r.id) (missing from the stream: \(missing.joined(separator: ", ")); not in the model: \(extra.joined(separator: ", ")))"
    }

    // MARK: Scoring

    nonisolated var queued: Int { queue.count }

    /// The forward passes of one flush, on a thread of their own: a pass holds its thread for tens
    /// of milliseconds, and on Swift's cooperative pool (one thread per core) it kept the
    /// continuations of committed batches from resuming, so acknowledgements waited on it.
    nonisolated static func forward(_ parts: [(scorer: BatchScorer, windows: [PendingWindow])]) async -> [WindowResult] {
        await withCheckedContinuation { (c: CheckedContinuation<[WindowResult], Never>) in
            forwardQueue.async { c.resume(returning: parts.flatMap { $0.scorer.score($0.windows) }) }
        }
    }

    private static let forwardQueue = DispatchQueue(label: "vertac.forward")

    /// Scores every queued window, in slices of at most ``sliceLimit``, and hands each stream's
    /// results to its owner; returns once what they caused is committed (and pushed). Flushes run
    /// one at a time, in order (a second caller waits for the running one), so every stream gets
    /// its results in the order its windows were cut.
    func flush() async { await flush(settling: true) }

    /// As ``flush()``, but returns once the last slice's results are with their owners: its
    /// transaction may still be running — the next slice's forward pass runs beside it, and waits
    /// for it only before handing its own results on (the scoring service's loop).
    func flushOverlapping() async { await flush(settling: false) }

    private func flush(settling: Bool) async {
        while let running = flushing { await running.value }
        let task = Task {
            while await self.flushSlice() {}
            if settling { await self.settleInFlight() }
        }
        flushing = task
        await task.value
        if flushing == task { flushing = nil }
    }

    /// Waits for the last slice's transaction and the pushes that follow it.
    private func settleInFlight() async {
        guard let slice = inFlight else { return }
        inFlight = nil
        _ = await slice.commit.result()
        for t in slice.published { await t.value }
    }

    /// Scores the oldest queued windows (at most ``sliceLimit``); false when none waited.
    private func flushSlice() async -> Bool {
        let all = queue.take(upTo: sliceLimit)
        guard !all.isEmpty else { return false }
        let started = DispatchTime.now().uptimeNanoseconds
        // One forward pass per model in use (usually one), off the actor.
        var batch: [QueuedWindow] = []
        var parts: [(scorer: BatchScorer, windows: [PendingWindow])] = []
        for id in Set(all.map(\.model)) {
            guard let scorer = loaded[id]?.scorer else { continue }
            let part = all.filter { $0.model == id }
            batch += part
            parts.append((scorer, part.map(\.window)))
        }
        let results = await forward(parts)
        metrics.scoringLatency.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        // The previous slice's transaction ran beside this forward pass; it is done before these
        // results reach the owners, so that transactions commit in the order of their windows.
        await settleInFlight()
        metrics.scoringBatchSize.record(batch.count)
        metrics.windowsScored.increment(by: batch.count)
        // Back to the owners, each stream's results in order, written in one transaction for all
        // streams (one stream's failure never costs another its scores: see ScoringCommit).
        var byOwner: [ObjectIdentifier: [(WindowResult, QueuedWindow)]] = [:]
        var order: [StreamOwner] = []
        for (r, q) in zip(results, batch) {
            let key = ObjectIdentifier(q.owner)
            if byOwner[key] == nil { order.append(q.owner) }
            byOwner[key, default: []].append((r, q))
        }
        let commit = ScoringCommit(owners: order.count, store: store)
        let published = await withTaskGroup(of: Task<Void, Never>?.self, returning: [Task<Void, Never>].self) { group in
            for owner in order {
                let scored = byOwner[ObjectIdentifier(owner)]!
                group.addTask { await owner.apply(scored, commit: commit) }
            }
            var tasks: [Task<Void, Never>] = []
            for await t in group { if let t { tasks.append(t) } }
            return tasks
        }
        // The owners went on with their streams; the transaction and the pushes that wait for it
        // run on while the next slice is scored.
        inFlight = (commit, published)
        return true
    }

    // MARK: Reports

    /// Computes and stores the post-cycle report of a cycle that reached STOPPED or ABORTED, in
    /// the background, with the model the stream is scored with.
    func cycleEnded(stream: StreamRecord, cycle: CycleRecord, aborted: Bool) {
        let id = modelID(for: stream.id)
        let model = id.flatMap { loaded[$0]?.file }
        let key = UUID()
        reports[key] = Task { [store, hub, logger, metrics] in
            do {
                if let health = try await CycleReports.make(stream: stream, cycle: cycle, aborted: aborted, model: model, modelID: id,
                                                            store: store, hub: hub) {
                    metrics.cycleHealth.record(health, stream: stream.id)
                }
            } catch {
                logger.error("post-cycle report failed", metadata: ["cycle": "\(cycle.id)", "error": "\(error)"])
            }
            self.reportDone(key)
        }
    }

    private func reportDone(_ key: UUID) { reports[key] = nil }

    /// Waits for the reports under way (tests, shutdown).
    func drainReports() async {
        while let (_, t) = reports.first { await t.value }
    }
}

/// Post-cycle reports: a finished cycle's rows against the model's reference.
enum CycleReports {
    /// - Returns: the report's health score; nil when no report was made.
    @discardableResult
    static func make(stream: StreamRecord, cycle: CycleRecord, aborted: Bool, model: ModelFile?, modelID: String?,
                     store: any Store, hub: any PushSink) async throws -> Double? {
        guard let model, model.reference != nil else { return nil }
        let names = stream.sensors.map(\.name)
        guard Set(names) == Set(model.sensors) else { return nil }
        let map = model.sensors.map { names.firstIndex(of: $0)! }
        let rows = try await store.samples(cycle: cycle.id)
        guard rows.count >= 2 else { return nil }
        func values(_ rs: [SampleRow]) -> [Float] { rs.flatMap { r in map.map { r.values[$0] } } }
        let previous = try await store.cycles(stream: stream.id).first { $0.number == cycle.number - 1 }
        var previousRows: [SampleRow]?
        if let previous { previousRows = try await store.samples(cycle: previous.id) }
        guard let input = CycleReportInput(model: model, values: values(rows), times: rows.map(\.time),
                                           previous: previousRows.flatMap { $0.count >= 2 ? values($0) : nil },
                                           aborted: aborted) else { return nil }
        var report = CycleReport.make(input, threads: 2)
        report.modelID = modelID
        guard var c = try await store.cycle(cycle.id) else { return nil }
        c.healthScore = report.healthScore
        c.anomalous = report.anomalous
        c.severity = report.severity
        c.reportJSON = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        try await store.saveCycle(c)
        await hub.publish(.cycleReport(CycleReportSummary(
            cycleID: c.id, modelID: modelID, sensors: model.sensors, healthScore: report.healthScore, severity: report.severity,
            anomalous: report.anomalous, topSensors: report.sensors.prefix(3).map { $0.sensor }, stopCause: report.stopCause?.rawValue)),
            stream: stream.id)
        return report.healthScore
    }
}
