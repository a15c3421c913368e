import Foundation
import Inference

/// The whole storage contract in memory, for unit tests of services without a database.
///
/// It keeps the SQL stores' semantics, which the contract suite checks on all three: a batch is
/// committed entirely or not at all (a row at an existing time, or a batch id seen before, fails
/// it), a retried batch id finds its acknowledgement, updates keep the columns the SQL upserts
/// keep (a stream's registration, a cycle's number and start), an event that scoring escalates
/// keeps its review, and reads come back in the same order. Nothing survives the process.
actor InMemoryStore: Store {
    /// A write the SQL stores would refuse with a constraint violation.
    struct ConstraintViolation: Error, CustomStringConvertible {
        let description: String
    }

    private var streamsByID: [String: StreamRecord] = [:]
    private var batches: [String: [String: BatchAck]] = [:]
    /// The time of each batch's last row (retention).
    private var batchTimes: [String: [String: Double]] = [:]
    private var aggregates: [String: [Double: SecondAggregate]] = [:]
    /// Per stream, the first and last time of every stored chunk.
    private var spans: [String: [(first: Double, last: Double)]] = [:]
    /// Rows by stream, then by time (the samples table's primary key).
    private var rows: [String: [Double: SampleRow]] = [:]
    private var cyclesByID: [String: CycleRecord] = [:]
    private var scoresByStream: [String: [Double: ScoreRecord]] = [:]
    private var states: [String: [String: SensorStateRecord]] = [:]
    /// In insertion order (the SQL stores' autoincrement id).
    private var transitionLog: [TransitionRecord] = []
    private var eventsByID: [String: MaintenanceEvent] = [:]
    /// In insertion order.
    private var notes: [EventNote] = []
    private var modelsByID: [String: ModelRecord] = [:]
    private var tokensByID: [String: TokenRecord] = [:]
    private var modelFiles: [String: Data] = [:]
    private var modelAssignments: [String: [String]] = [:]

    private var nodesByID: [String: NodeRecord] = [:]
    private var leasesByStream: [String: Lease] = [:]
    /// As ``PostgresStore/fences``.
    let fences: FenceBook?

    init(fences: FenceBook? = nil) { self.fences = fences }

    /// As ``PGConnection/checkFences(_:streams:)``.
    private func checkFences(_ streams: some Sequence<String>) throws {
        guard let fences else { return }
        for id in Set(streams) {
            let held = fences.fence(id), current = leasesByStream[id]?.fence
            guard let held, held == current else { throw FenceRefused(stream: id, held: held, current: current) }
        }
    }

    // MARK: Streams and samples

    func saveStream(_ s: StreamRecord) throws {
        try checkFences([s.id])
        upsert(s)
    }

    /// Like the SQL upsert: a known stream keeps its registration time and dataset.
    private func upsert(_ s: StreamRecord) {
        var stored = s
        if let old = streamsByID[s.id] { (stored.registeredAt, stored.datasetID) = (old.registeredAt, old.datasetID) }
        streamsByID[s.id] = stored
    }

    func stream(_ id: String) -> StreamRecord? { streamsByID[id] }

    func streams() -> [StreamRecord] {
        streamsByID.values.sorted { ($0.registeredAt, $0.id) < ($1.registeredAt, $1.id) }
    }

    func acknowledgement(stream: String, batchID: String) -> BatchAck? { batches[stream]?[batchID] }

    func commitBatch(stream: StreamRecord, rows new: [SampleRow], batchID: String?, ack: BatchAck) throws {
        // Check everything first, so that a refused batch leaves nothing behind. Rows may not
        // fall within a stored chunk's span, as in the SQL stores (``SampleChunk``).
        try checkFences([stream.id])
        let chunks = try SampleChunk.chunks(of: new, stream: stream.id)
        for c in chunks where spans[stream.id, default: []].contains(where: { $0.first <= c.last && $0.last >= c.first }) {
            throw SampleOverlap(stream: stream.id, time: c.first)
        }
        if let batchID, batches[stream.id]?[batchID] != nil {
            throw ConstraintViolation(description: "batch \(batchID) of stream \(stream.id) is already stored")
        }
        guard var stored = streamsByID[stream.id] else { throw UnknownStream(id: stream.id) }
        for r in new { rows[stream.id, default: [:]][r.time] = r }
        spans[stream.id, default: []] += chunks.map { ($0.first, $0.last) }
        if let batchID {
            batches[stream.id, default: [:]][batchID] = ack
            batchTimes[stream.id, default: [:]][batchID] = new.map(\.time).max()
        }
        for r in new { if let c = r.cycleID { cyclesByID[c]?.rows += 1 } }
        (stored.lastActivity, stored.lastTimestamp, stored.filledValues) = (stream.lastActivity, stream.lastTimestamp, stream.filledValues)
        streamsByID[stream.id] = stored
    }

    func samples(cycle: String) -> [SampleRow] {
        rows.values.flatMap { $0.values.filter { $0.cycleID == cycle } }.sorted { $0.time < $1.time }
    }

    func samples(stream: String, from: Double, to: Double) -> [SampleRow] {
        (rows[stream] ?? [:]).values.filter { $0.time >= from && $0.time <= to }.sorted { $0.time < $1.time }
    }

    // MARK: Cycles

    func saveCycle(_ c: CycleRecord) throws {
        try checkFences([c.streamID])
        guard streamsByID[c.streamID] != nil else {
            throw ConstraintViolation(description: "cycle \(c.id) refers to unknown stream \(c.streamID)")
        }
        var stored = c
        if let old = cyclesByID[c.id] {
            (stored.streamID, stored.number, stored.startedAt) = (old.streamID, old.number, old.startedAt)
        }
        cyclesByID[c.id] = stored
    }

    func cycle(_ id: String) -> CycleRecord? { cyclesByID[id] }

    func cycles(stream: String) -> [CycleRecord] {
        cyclesByID.values.filter { $0.streamID == stream }.sorted { $0.number > $1.number }
    }

    // MARK: Scoring

    /// A unit-test seam: scoring commits holding a score this accepts fail whole, as a constraint
    /// violation would.
    private var refusedScores: (@Sendable (ScoreRecord) -> Bool)?

    func refuseScores(where refused: (@Sendable (ScoreRecord) -> Bool)?) { refusedScores = refused }

    /// A unit-test seam: every scoring commit first waits for this (a slow disk).
    private var scoringHold: (@Sendable () async -> Void)?

    func holdScoring(_ hold: (@Sendable () async -> Void)?) { scoringHold = hold }

    func commitScoring(scores: [ScoreRecord], states new: [SensorStateRecord], transitions: [TransitionRecord],
                              events: [MaintenanceEvent]) async throws {
        if let scoringHold { await scoringHold() }
        if let refusedScores, let bad = scores.first(where: refusedScores) {
            throw ConstraintViolation(description: "score of stream \(bad.streamID) at \(bad.time) refused")
        }
        try checkFences(scores.map(\.streamID) + new.map(\.streamID) + transitions.map(\.streamID) + events.map(\.stream))
        for s in scores { scoresByStream[s.streamID, default: [:]][s.time] = s }
        for s in new { states[s.streamID, default: [:]][s.sensor] = s }
        transitionLog += transitions
        for e in events { eventsByID[e.id] = eventsByID[e.id].map { e.keepingReview(of: $0) } ?? e }
    }

    func scores(stream: String, from: Double, to: Double) -> [ScoreRecord] {
        (scoresByStream[stream] ?? [:]).values.filter { $0.time >= from && $0.time <= to }.sorted { $0.time < $1.time }
    }

    func sensorStates(stream: String) -> [SensorStateRecord] {
        (states[stream] ?? [:]).values.sorted { $0.sensor < $1.sensor }
    }

    func transitions(stream: String, limit: Int) -> [TransitionRecord] {
        Array(transitionLog.reversed().lazy.filter { $0.streamID == stream }.prefix(max(limit, 0)))
    }

    // MARK: Events

    func saveEvent(_ e: MaintenanceEvent, note: EventNote?) {
        eventsByID[e.id] = e
        if let note { notes.append(note) }
    }

    func eventNotes(events ids: [String]) -> [String: [EventNote]] {
        let wanted = Set(ids)
        return Dictionary(grouping: notes.filter { wanted.contains($0.eventID) }, by: \.eventID)
    }

    func event(_ id: String) -> MaintenanceEvent? { eventsByID[id] }

    func events(status: EventStatus?, stream: String?) -> [MaintenanceEvent] {
        eventsByID.values
            .filter { (status == nil || $0.status == status) && (stream == nil || $0.stream == stream) }
            .sorted { ($0.openedAt, $0.id) > ($1.openedAt, $1.id) }
    }

    // MARK: Models and tokens

    func saveModel(_ m: ModelRecord) {
        if m.active {
            for (id, other) in modelsByID where other.active && id != m.id { modelsByID[id]?.active = false }
        }
        modelsByID[m.id] = m
    }

    func models() -> [ModelRecord] {
        modelsByID.values.sorted { ($0.loadedAt, $0.id) > ($1.loadedAt, $1.id) }
    }

    /// Like SQLite's `INSERT OR REPLACE`: a token with the same id or the same hash is replaced.
    func saveToken(_ t: TokenRecord) {
        tokensByID = tokensByID.filter { $0.value.hash != t.hash }
        tokensByID[t.id] = t
    }

    func token(hash: String) -> TokenRecord? { tokensByID.values.first { $0.hash == hash } }

    func tokens() -> [TokenRecord] { tokensByID.values.sorted { $0.id < $1.id } }

    func revokeToken(id: String, at time: Double) -> TokenRecord? {
        if tokensByID[id]?.revokedAt == nil { tokensByID[id]?.revokedAt = time }
        return tokensByID[id]
    }

    func tokenUsed(id: String, at time: Double) {
        guard let last = tokensByID[id].map(\.lastUsedAt) else { return }
        tokensByID[id]?.lastUsedAt = max(last ?? time, time)
    }

    func saveModelFile(id: String, bytes: Data) { modelFiles[id] = bytes }

    func modelFile(id: String) -> Data? { modelFiles[id] }

    func saveAssignment(stream: String, history: [String]) { modelAssignments[stream] = history }

    func assignments() -> [String: [String]] { modelAssignments }

    // MARK: Cluster (the clock is this process's)

    func clusterNow() -> Double { Date().timeIntervalSince1970 }

    func announce(node: String, address: String, keepingStartWithin seconds: Double) {
        let now = clusterNow()
        let start = nodesByID[node].flatMap { now - $0.heartbeatAt <= seconds ? $0.startedAt : nil } ?? now
        nodesByID[node] = NodeRecord(id: node, address: address, startedAt: start, heartbeatAt: now)
    }

    func heartbeat(node: String) -> Bool {
        guard let n = nodesByID[node] else { return false }
        nodesByID[node] = NodeRecord(id: n.id, address: n.address, startedAt: n.startedAt, heartbeatAt: clusterNow())
        return true
    }

    func nodes() -> (now: Double, nodes: [NodeRecord]) { (clusterNow(), nodesByID.values.sorted { $0.id < $1.id }) }

    func leave(node: String) {
        for (id, l) in leasesByStream where l.node == node { leasesByStream[id] = Lease(stream: id, node: node, fence: l.fence, expiresAt: 0) }
        nodesByID[node] = nil
    }

    func forgetNodes(silentFor seconds: Double) {
        let now = clusterNow()
        nodesByID = nodesByID.filter { now - $0.value.heartbeatAt <= seconds }
    }

    func acquireLease(stream: String, node: String, seconds: Double) -> Lease? {
        let now = clusterNow()
        let old = leasesByStream[stream]
        if let old, old.node != node, old.expiresAt >= now { return nil }
        let renewal = old.map { $0.node == node && $0.expiresAt >= now } ?? false
        let lease = Lease(stream: stream, node: node, fence: old.map { renewal ? $0.fence : $0.fence + 1 } ?? 1, expiresAt: now + seconds)
        leasesByStream[stream] = lease
        return lease
    }

    func lease(stream: String) -> Lease? { leasesByStream[stream] }

    func renewLeases(node: String, streams: [String], seconds: Double) -> [Lease] {
        let now = clusterNow(), wanted = Set(streams)
        var renewed: [Lease] = []
        for (id, l) in leasesByStream where wanted.contains(id) && l.node == node && l.expiresAt >= now {
            let lease = Lease(stream: id, node: node, fence: l.fence, expiresAt: now + seconds)
            leasesByStream[id] = lease
            renewed.append(lease)
        }
        return renewed.sorted { $0.stream < $1.stream }
    }

    func releaseLease(stream: String, node: String) {
        guard let l = leasesByStream[stream], l.node == node else { return }
        leasesByStream[stream] = Lease(stream: stream, node: node, fence: l.fence, expiresAt: 0)
    }

    func leases() -> [Lease] { leasesByStream.values.sorted { $0.stream < $1.stream } }

    /// Writes are atomic steps of this actor: none is ever half done.
    func awaitWriters(stream: String) {}
}

extension InMemoryStore: ClusterRepository {
    // MARK: Retention

    func rollUpSamples(stream: String, before cutoff: Double, limit: Int) -> Int {
        let chunks = (spans[stream] ?? []).filter { $0.last < cutoff }.sorted { $0.first < $1.first }.prefix(limit)
        guard !chunks.isEmpty else { return 0 }
        let taken = (rows[stream] ?? [:]).values.filter { r in chunks.contains { $0.first <= r.time && r.time <= $0.last } }
        let lo = taken.map(\.time).min()?.rounded(.down) ?? 0, hi = taken.map(\.time).max()?.rounded(.down) ?? 0
        let stored = (aggregates[stream] ?? [:]).values.filter { $0.time >= lo && $0.time <= hi }
        for a in SecondAggregate.seconds(of: taken.sorted { $0.time < $1.time }, stored: Array(stored)) { aggregates[stream, default: [:]][a.time] = a }
        for r in taken { rows[stream]?[r.time] = nil }
        spans[stream]?.removeAll { s in chunks.contains { $0.first == s.first } }
        return chunks.count
    }

    func deleteAggregates(stream: String, before cutoff: Double, limit: Int) -> Int {
        let old = (aggregates[stream] ?? [:]).keys.filter { $0 < cutoff }.sorted().prefix(limit)
        for t in old { aggregates[stream]?[t] = nil }
        return old.count
    }

    func deleteScores(stream: String, before cutoff: Double, limit: Int) -> Int {
        let old = (scoresByStream[stream] ?? [:]).keys.filter { $0 < cutoff }.sorted().prefix(limit)
        for t in old { scoresByStream[stream]?[t] = nil }
        let transitions = transitionLog.enumerated().filter { $0.element.streamID == stream && $0.element.time < cutoff }.map(\.offset).prefix(limit)
        for k in transitions.reversed() { transitionLog.remove(at: k) }
        return old.count + transitions.count
    }

    func deleteEvents(stream: String, before cutoff: Double, limit: Int) -> Int {
        let old = eventsByID.values.filter { $0.stream == stream && $0.status == .resolved && $0.updatedAt < cutoff }
            .sorted { $0.updatedAt < $1.updatedAt }.prefix(limit).map(\.id)
        for id in old { eventsByID[id] = nil }
        notes.removeAll { old.contains($0.eventID) }
        return old.count
    }

    func deleteBatchAcks(stream: String, before cutoff: Double, limit: Int) -> Int {
        let old = (batchTimes[stream] ?? [:]).filter { $0.value < cutoff }.sorted { $0.value < $1.value }.prefix(limit).map(\.key)
        for id in old { batches[stream]?[id] = nil; batchTimes[stream]?[id] = nil }
        return old.count
    }

    func secondAggregates(stream: String, from: Double, to: Double) -> [SecondAggregate] {
        (aggregates[stream] ?? [:]).values.filter { $0.time >= from && $0.time <= to }.sorted { $0.time < $1.time }
    }
}
