import Foundation
import Inference
import Synchronization

/// Limits that keep one request from hurting the server.
struct IngestLimits: Sendable {
    var maxSensors = 1_000
    var maxSamplesPerBatch = 100_000
    var maxRowsPerBatch = 10_000
    /// Backpressure: while more windows than this wait to be scored, ingest answers 503.
    var maxQueuedWindows = 50_000
    init() {}
}

/// The live side of the server: the registered streams, each with its ``StreamOwner``, and the
/// routing of every command to the owner of its stream.
///
/// Work on one stream is serialised by its owner (a batch never overtakes an earlier one or a
/// cycle event); different streams proceed side by side, with no lock or actor shared on the
/// ingest path but the store. Every acknowledgement is given after the store has committed the
/// batch.
final class LiveService: Sendable {
    let context: OwnerContext
    private let owners = Mutex<[String: StreamOwner]>([:])
    var pipeline: ScoringPipeline { context.pipeline }
    /// In a cluster (PostgreSQL), the node whose leases decide which streams this server owns:
    /// it adopts and hands over streams (``adopt(_:)``, ``relinquish(_:)``); commands on a stream
    /// another server owns are refused with `not_owner`. Nil: a server alone owns every stream.
    let cluster: ClusterNode?

    /// - Parameters:
    ///   - settings: the value the pipeline judges windows with (its grace period, sample timeout
    ///     and stale time apply here); nil: the pipeline's, or the defaults.
    ///   - metrics: nil: the pipeline's (one set of figures for ingest and scoring).
    ///   - pipeline: nil: a pipeline of its own whose pushes nobody receives.
    init(store: any Store, pipeline: ScoringPipeline? = nil, limits: IngestLimits = .init(),
                settings: MonitorSettings? = nil, metrics: ServerMetrics? = nil, cluster: ClusterNode? = nil,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.cluster = cluster
        let pipeline = pipeline ?? ScoringPipeline(store: store, hub: NoSubscribers(), settings: settings ?? .init(), metrics: metrics ?? ServerMetrics())
        precondition(settings == nil || settings == pipeline.settings, "the live service and its pipeline must share one settings value")
        context = OwnerContext(store: store, hub: pipeline.hub, pipeline: pipeline, metrics: metrics ?? pipeline.metrics, logger: pipeline.logger,
                               limits: limits, settings: pipeline.settings, clock: clock)
    }

    var liveCount: Int { owners.withLock { $0.count } }

    func owner(_ stream: String) async throws -> StreamOwner {
        if let o = owners.withLock({ $0[stream] }) { return o }
        if let cluster, try await context.store.stream(stream) != nil {
            let address = try await cluster.ownerAddress(of: stream)
            var e = ServiceError(.notOwner, "stream \(stream) is served by \(address.map { "another server (\($0))" } ?? "no server at the moment"); retry shortly",
                                 retryAfter: 1)
            e.ownerAddress = address
            throw e
        }
        throw ServiceError(.unknownStream, "no stream \"\(stream)\" is registered")
    }

    private var all: [StreamOwner] { owners.withLock { Array($0.values) } }

    /// Restores every stored stream (state machines included) — called at start. In a cluster
    /// the node's rounds adopt the streams it owns instead.
    func restore() async throws {
        guard cluster == nil else { return }
        for r in try await context.store.streams() { try await restore(r) }
    }

    private func restore(_ r: StreamRecord) async throws {
        let settings = context.settings
        let cycle = CycleStateMachine(restoring: r.cycleState, cycle: r.cycleNumber, since: r.stateSince, lastActivity: r.lastActivity,
                                      gracePeriod: settings.gracePeriod, sampleTimeout: settings.sampleTimeout)
        var last = [Float?](repeating: nil, count: r.sensors.count)
        if let t = r.lastTimestamp, let row = try await context.store.samples(stream: r.id, from: t, to: t).last { last = row.values.map { $0 } }
        let owner = StreamOwner(record: r, cycle: cycle, lastValues: last, context: context)
        owners.withLock { $0[r.id] = owner }
        // Rebuilds the cycle's windows and live DTW and scores what was left unscored.
        do {
            try await owner.attach(await choice(for: r.id), restoring: true)
        } catch {
            owners.withLock { $0[r.id] = nil }
            throw error
        }
        // The last finished cycle's report, when it was never stored (the server stopped, or the
        // stream moved to this server, while it was being computed).
        if let last = try await context.store.cycles(stream: r.id).first(where: { $0.state == .stopped || $0.state == .aborted }),
           last.reportJSON == nil {
            await pipeline.cycleEnded(stream: r, cycle: last, aborted: last.state == .aborted)
        }
    }

    // MARK: Ownership in a cluster

    /// Takes on a stream whose lease this node was just given: restored from the store as at a
    /// restart (the current cycle's rows replayed, the windows of unscored rows scored).
    func adopt(_ stream: String) async throws {
        guard owners.withLock({ $0[stream] == nil }) else { return }
        guard let r = try await context.store.stream(stream) else { throw ServiceError(.unknownStream, "no stream \"\(stream)\" is stored") }
        try await restore(r)
    }

    /// Hands a stream over: the commands under way finish; then the stream is no longer served
    /// here. Its windows still queued are dropped — the new owner scores the windows of every
    /// acknowledged row that has no score yet when it restores the stream (waiting here for a
    /// flush of every stream's queue could outlast the lease under load).
    func relinquish(_ stream: String) async {
        guard let owner = owners.withLock({ $0[stream] }) else { return }
        await owner.settle()
        drop(stream)
    }

    /// Stops serving a stream at once (its lease was lost: nothing more it writes would land).
    func drop(_ stream: String) {
        guard let owner = owners.withLock({ $0.removeValue(forKey: stream) }) else { return }
        pipeline.queue.removeAll(of: owner)
        // Read again from the store if the stream comes back (another server reported its cycles meanwhile).
        context.metrics.cycleHealth.forget(stream)
    }

    /// Whether this server serves the stream now.
    func isServed(_ stream: String) -> Bool { owners.withLock { $0[stream] != nil } }

    /// The streams this server serves now.
    var servedStreams: [String] { owners.withLock { Array($0.keys) } }

    /// The gauges of every stream this server serves (`/metrics`).
    func gauges() async -> [StreamGauges] {
        var out: [StreamGauges] = []
        for owner in owners.withLock({ Array($0.values) }) { out.append(await owner.gauges()) }
        return out
    }

    /// The model a stream is to be scored with now, if it is loaded.
    private func choice(for stream: String) async -> ModelChoice? {
        guard let m = await pipeline.model(for: stream) else { return nil }
        return ModelChoice(id: m.id, file: m.file, assigned: await pipeline.hasOwnModel(stream))
    }

    // MARK: Registration

    func register(_ r: StreamSpec) async throws -> Registration {
        let limits = context.limits
        guard !r.sensors.isEmpty else { throw ServiceError.badRequest("a stream needs at least one sensor") }
        guard r.sensors.count <= limits.maxSensors else {
            throw ServiceError(.tooManySensors, "\(r.sensors.count) sensors; at most \(limits.maxSensors)")
        }
        if let n = r.declaredCount, n != r.sensors.count {
            throw ServiceError.badRequest("sensor_count is \(n) but \(r.sensors.count) sensors are listed")
        }
        try TextField.check(r.deviceName, "device_name")
        var names = Set<String>()
        for (k, s) in r.sensors.enumerated() {
            try TextField.check(s.name, "sensors[\(k)].name", maxLength: 128)
            if let id = s.sensorID { try TextField.check(id, "sensors[\(k)].sensor_id", maxLength: 128) }
            if let t = s.type { try TextField.check(t, "sensors[\(k)].type", maxLength: 128, allowEmpty: true) }
            if let u = s.unit { try TextField.check(u, "sensors[\(k)].unit", maxLength: 64, allowEmpty: true) }
            let name = s.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw ServiceError.badRequest("a sensor has an empty name") }
            guard names.insert(name).inserted else { throw ServiceError.badRequest("sensor name \"\(name)\" appears twice") }
        }
        let now = context.clock()
        var machine = CycleStateMachine(gracePeriod: context.settings.gracePeriod, sampleTimeout: context.settings.sampleTimeout)
        _ = try machine.handle(.register, at: now)
        let record = StreamRecord(
            id: UUID().uuidString.lowercased(), deviceName: r.deviceName, datasetID: UUID().uuidString.lowercased(), registeredAt: now,
            sensors: r.sensors.map { SensorRecord(sensorID: $0.sensorID, name: $0.name.trimmingCharacters(in: .whitespaces), type: $0.type, unit: $0.unit) },
            cycleState: machine.state, cycleNumber: 0, stateSince: now, lastActivity: now, currentCycleID: nil,
            lastTimestamp: nil, filledValues: 0)
        // In a cluster the new stream's lease comes first: its writes are fenced from the start;
        // rounds leave it alone until it has its owner.
        try await cluster?.claim(record.id)
        do {
            try await context.store.saveStream(record)
            let owner = StreamOwner(record: record, cycle: machine, lastValues: [Float?](repeating: nil, count: record.sensors.count), context: context)
            owners.withLock { $0[record.id] = owner }
            await cluster?.registered(record.id)
            try await owner.attach(await choice(for: record.id))
        } catch {
            await cluster?.registered(record.id)
            throw error
        }
        return Registration(streamID: record.id, datasetID: record.datasetID)
    }

    // MARK: Ingestion

    /// - Parameter arrival: when the batch reached the server (``ServerMetrics/now()``); the
    ///   time to its acknowledgement is recorded from it.
    func ingest(_ b: IngestBatch, arrival: UInt64 = ServerMetrics.now()) async throws -> IngestReceipt {
        let owner = try await owner(b.streamID)
        // Scoring has fallen behind: the edge keeps the batch (it has a buffer) and retries.
        let limit = context.limits.maxQueuedWindows
        if pipeline.queued > limit {
            context.metrics.rejectedBusy.increment()
            throw ServiceError(.busy, "scoring is behind (more than \(limit) windows waiting); retry shortly", retryAfter: 1)
        }
        let response = try await owner.ingest(b, arrival: arrival)
        ServerMetrics.since(arrival, into: context.metrics.batchAck)
        return response
    }

    // MARK: Cycles

    func cycleEvent(_ event: CycleEvent, stream: String, metadata: [String: String]) async throws -> CycleOutcome {
        let owner = try await owner(stream)
        try TextField.checkMetadata(metadata)
        return try await owner.cycleEvent(event, metadata: metadata)
    }

    /// Advances every stream's clock (grace periods, sample timeouts, stale sensors), streams side
    /// by side. A stream whose tick fails is logged and retried at the next tick; the first
    /// failure is rethrown once every stream had its turn.
    func tick() async throws {
        let now = context.clock()
        let failures = await withTaskGroup(of: Error?.self, returning: [Error].self) { group in
            for o in all {
                group.addTask {
                    do { try await o.tick(at: now) } catch { return error }
                    return nil
                }
            }
            var failures: [Error] = []
            for await f in group { if let f { failures.append(f) } }
            return failures
        }
        if let first = failures.first { throw first }
    }

    /// Waits until every stream finished the commands given so far (tests, shutdown).
    func settle() async {
        for o in all { await o.settle() }
    }

    // MARK: Models

    /// Activates a loaded model globally (stream nil) or for one stream, without a restart: the
    /// affected streams switch at once, their current cycle replayed into the new model's
    /// windows so that nothing already received is skipped.
    ///
    /// - Throws: ``ServiceError`` `sensor_mismatch` naming the sensors when a stream's sensors do not match.
    func activate(_ id: String, stream: String?) async throws {
        guard let model = await pipeline.loadedModel(id) else { throw ServiceError(.unknownModel, "no model \"\(id)\" is loaded") }
        if let stream {
            let owner = try await owner(stream)
            if let reason = ScoringPipeline.mismatch(model, await owner.record) { throw ServiceError(.sensorMismatch, reason) }
            try await pipeline.assign(id, stream: stream)
            try await owner.attach(await choice(for: stream))
        } else {
            await pipeline.setGlobal(id)
            for o in all where !(await pipeline.hasOwnModel(o.id)) { try await o.attach(await choice(for: o.id)) }
        }
    }

    /// Switches every stream served here whose model is no longer the one the pipeline's
    /// assignments give it (in a cluster, after another server activated or rolled back a model
    /// and this server read the assignments again).
    func reconcileModels() async throws {
        for o in all {
            let want = await choice(for: o.id)
            let have = await o.attached
            guard want?.id != have?.id || want?.assigned != have?.assigned else { continue }
            try await o.attach(want)
        }
    }

    /// Goes back to the model a stream used before its last activation.
    ///
    /// - Returns: the model now in use for the stream (nil: the global one).
    func rollback(stream: String) async throws -> String? {
        let owner = try await owner(stream)
        let now = try await pipeline.unassign(stream: stream)
        try await owner.attach(await choice(for: stream))
        return now
    }

    // MARK: Engineers' commands

    /// Starts or ends a stream's maintenance window; false when the stream is not scored.
    func setMaintenance(stream: String, active: Bool, at time: Double) async throws -> Bool {
        try await owner(stream).setMaintenance(active, at: time)
    }

    /// Applies an engineer's change to an event through the owner of its stream (in order with
    /// the windows that may escalate it).
    func review(_ e: MaintenanceEvent, _ change: @escaping @Sendable (inout MaintenanceEvent) throws -> EventNote?) async throws
        -> MaintenanceEvent
    {
        let changed: MaintenanceEvent
        if let owner = owners.withLock({ $0[e.stream] }) {
            changed = try await owner.review(event: e.id, change)
        } else {
            // In a cluster the stream's owner applies it (in order with its scoring).
            if cluster != nil { _ = try await owner(e.stream) }
            // An event of a stream no longer registered: nothing scores it.
            var copy = e
            let note = try change(&copy)
            try await context.store.saveEvent(copy, note: note)
            changed = copy
        }
        if changed.status != e.status { context.logger.notice("maintenance event reviewed", metadata: changed.logMetadata) }
        return changed
    }

    /// Applies an engineer's change to a cycle (a label) through the owner of its stream: in a
    /// cluster only the owner may write the stream's cycles (a non-owner's write would be fenced).
    func changeCycle(_ c: CycleRecord, _ change: @escaping @Sendable (inout CycleRecord) throws -> Void) async throws -> CycleRecord? {
        if let owner = owners.withLock({ $0[c.streamID] }) { return try await owner.changeCycle(c.id, change) }
        if cluster != nil { _ = try await owner(c.streamID) }
        // A cycle of a stream no longer registered.
        var changed = c
        try change(&changed)
        try await context.store.saveCycle(changed)
        return changed
    }

    // MARK: Status

    func status(_ stream: String) async throws -> StreamStatus { try await owner(stream).status() }

    /// Whether a stream is scored, with which model, and if not, why.
    /// In a cluster, for a stream another server serves: as its owner scores it, from the model
    /// assignments every server shares.
    func scoring(_ record: StreamRecord) async -> (scored: Bool, reason: String, model: String?) {
        if let o = owners.withLock({ $0[record.id] }) { return await o.scoringStatus() }
        guard cluster != nil else { return (false, "not scored", nil) }
        return StreamOwner.scoringStatus(of: record, with: await choice(for: record.id))
    }
}
