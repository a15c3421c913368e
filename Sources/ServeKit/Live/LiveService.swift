import Foundation
import Inference

/// Limits that keep one request from hurting the server.
public struct IngestLimits: Sendable {
    public var maxSensors = 1_000
    public var maxSamplesPerBatch = 100_000
    public var maxRowsPerBatch = 10_000
    /// Backpressure: while more windows than this wait to be scored, ingest answers 503.
    public var maxQueuedWindows = 50_000
    public init() {}
}

/// The live side of the server: registered streams, their cycle state machines and ingestion.
///
/// Work on one stream is serialised (a batch never overtakes an earlier one or a cycle event);
/// different streams proceed concurrently. Every acknowledgement is given after the store has
/// committed the batch.
public actor LiveService {
    struct Live {
        var record: StreamRecord
        var machine: CycleStateMachine
        var lastValues: [Float?]
    }

    let store: any Store
    let pipeline: ScoringPipeline
    let hub: LiveHub
    let metrics: ServerMetrics
    let clock: @Sendable () -> Double
    let limits: IngestLimits
    let settings: MonitorSettings
    private var live: [String: Live] = [:]
    var liveCount: Int { live.count }
    private var tails: [String: Task<Void, Never>] = [:]

    /// - Parameter settings: the same value the pipeline judges windows with (its grace period,
    ///   sample timeout and stale time apply here).
    public init(store: any Store, pipeline: ScoringPipeline? = nil, hub: LiveHub = LiveHub(), limits: IngestLimits = .init(),
                settings: MonitorSettings = .init(), metrics: ServerMetrics = ServerMetrics(),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.store = store
        self.metrics = metrics
        self.hub = hub
        self.settings = settings
        self.pipeline = pipeline ?? ScoringPipeline(store: store, hub: hub, settings: settings)
        self.limits = limits
        self.clock = clock
    }

    /// Restores every stored stream (state machines included) — called at start.
    public func restore() async throws {
        for r in try await store.streams() {
            let machine = CycleStateMachine(restoring: r.cycleState, cycle: r.cycleNumber,
                                            since: r.stateSince, lastActivity: r.lastActivity,
                                            gracePeriod: settings.gracePeriod, sampleTimeout: settings.sampleTimeout)
            // The stream's last row, in a cycle or not: missing values are carried on from it.
            var last = [Float?](repeating: nil, count: r.sensors.count)
            if let t = r.lastTimestamp, let row = try await store.samples(stream: r.id, from: t, to: t).last { last = row.values.map { $0 } }
            live[r.id] = Live(record: r, machine: machine, lastValues: last)
            // Rebuilds the cycle's windows and live DTW and scores what was left unscored; no
            // cycle start here, which would throw that state away.
            try await pipeline.attach(r, restoring: true)
        }
    }

    /// Every stream's record, for the pipeline.
    func records() -> [StreamRecord] { live.values.map(\.record) }

    /// Starts scoring with `model` (nil: none) for every stream whose sensors match.
    public func useModel(_ model: ModelFile?) async throws {
        try await pipeline.setModel(model, streams: records())
    }

    /// Runs `body` after every earlier piece of work on `stream` has finished.
    private func serialized<T: Sendable>(_ stream: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tails[stream]
        let task = Task<T, Error> {
            _ = await previous?.value
            return try await body()
        }
        tails[stream] = Task { _ = await task.result }
        return try await task.value
    }

    // MARK: Registration

    func register(_ r: RegisterRequest) async throws -> RegisterResponse {
        guard !r.sensors.isEmpty else { throw APIError.badRequest("a stream needs at least one sensor") }
        guard r.sensors.count <= limits.maxSensors else {
            throw APIError(.contentTooLarge, "too_many_sensors", "\(r.sensors.count) sensors; at most \(limits.maxSensors)")
        }
        if let n = r.sensor_count, n != r.sensors.count {
            throw APIError.badRequest("sensor_count is \(n) but \(r.sensors.count) sensors are listed")
        }
        try TextField.check(r.device_name, "device_name")
        var names = Set<String>()
        for (k, s) in r.sensors.enumerated() {
            try TextField.check(s.name, "sensors[\(k)].name", maxLength: 128)
            if let id = s.sensor_id { try TextField.check(id, "sensors[\(k)].sensor_id", maxLength: 128) }
            if let t = s.type { try TextField.check(t, "sensors[\(k)].type", maxLength: 128, allowEmpty: true) }
            if let u = s.unit { try TextField.check(u, "sensors[\(k)].unit", maxLength: 64, allowEmpty: true) }
            let name = s.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw APIError.badRequest("a sensor has an empty name") }
            guard names.insert(name).inserted else { throw APIError.badRequest("sensor name \"\(name)\" appears twice") }
        }
        let now = clock()
        var machine = CycleStateMachine(gracePeriod: settings.gracePeriod, sampleTimeout: settings.sampleTimeout)
        _ = try machine.handle(.register, at: now)
        let record = StreamRecord(
            id: UUID().uuidString.lowercased(), deviceName: r.device_name, datasetID: UUID().uuidString.lowercased(), registeredAt: now,
            sensors: r.sensors.map { SensorRecord(sensorID: $0.sensor_id, name: $0.name.trimmingCharacters(in: .whitespaces), type: $0.type, unit: $0.unit) },
            cycleState: machine.state, cycleNumber: 0, stateSince: now, lastActivity: now, currentCycleID: nil,
            lastTimestamp: nil, filledValues: 0)
        try await store.saveStream(record)
        live[record.id] = Live(record: record, machine: machine, lastValues: [Float?](repeating: nil, count: record.sensors.count))
        try await pipeline.attach(record)
        return RegisterResponse(stream_id: record.id, dataset_id: record.datasetID, status: "registered")
    }

    func known(_ stream: String) throws -> Live {
        guard let s = live[stream] else { throw APIError.notFound("unknown_stream", "no stream \"\(stream)\" is registered") }
        return s
    }

    // MARK: Ingestion

    /// - Parameter arrival: when the batch reached the server (``ServerMetrics/now()``); the
    ///   time to its acknowledgement is recorded from it.
    func ingest(_ b: BatchRequest, arrival: UInt64 = ServerMetrics.now()) async throws -> BatchResponse {
        _ = try known(b.stream_id)
        // Scoring has fallen behind: the edge keeps the batch (it has a buffer) and retries.
        if await pipeline.queued > limits.maxQueuedWindows {
            metrics.rejectedBusy.increment()
            var e = APIError(.serviceUnavailable, "busy", "scoring is behind (more than \(limits.maxQueuedWindows) windows waiting); retry shortly")
            e.headers[.retryAfter] = "1"
            throw e
        }
        let response = try await serialized(b.stream_id) { try await self.ingestNow(b, arrival: arrival) }
        ServerMetrics.since(arrival, into: metrics.batchAck)
        return response
    }

    private func ingestNow(_ b: BatchRequest, arrival: UInt64) async throws -> BatchResponse {
        var s = try known(b.stream_id)
        if let id = b.batch_id { try TextField.check(id, "batch_id", maxLength: 128) }
        let (rows, samples, filled) = try Self.rows(of: b, stream: s.record, lastValues: s.lastValues, limits: limits)
        // A retry of a committed batch gets its first answer and changes nothing.
        if let batchID = b.batch_id, let earlier = try await store.acknowledgement(stream: b.stream_id, batchID: batchID) {
            return BatchResponse(ack_id: earlier.ackID, buffer_status: "ok", samples_received: earlier.samples,
                                 rows_stored: earlier.rows, duplicate: true)
        }
        if let last = s.record.lastTimestamp, let first = rows.first, first.time <= last {
            throw APIError.conflict("timestamp_backwards",
                                    "timestamp \(Timestamp.format(first.time)) is not after the stream's last row at \(Timestamp.format(last))")
        }
        let now = clock()
        var machine = s.machine
        var stored: [SampleRow] = []
        for var r in rows {
            let inCycle = machine.sample(at: now) && (machine.state == .active || machine.state == .stopping)
            r.cycleID = inCycle ? s.record.currentCycleID : nil
            stored.append(r)
        }
        var record = s.record
        record.lastTimestamp = rows.last?.time ?? record.lastTimestamp
        record.filledValues += filled
        record.lastActivity = machine.lastActivity
        let ack = BatchAck(ackID: UUID().uuidString.lowercased(), samples: samples, rows: rows.count)
        let started = DispatchTime.now().uptimeNanoseconds
        try await store.commitBatch(stream: record, rows: stored, batchID: b.batch_id, ack: ack)
        metrics.batchCommit.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        metrics.ingestedRows.increment(by: rows.count)
        metrics.ingestedValues.increment(by: samples)
        s.record = record
        s.machine = machine
        if let lastRow = rows.last { s.lastValues = lastRow.values.map { $0 } }
        live[b.stream_id] = s
        await pipeline.dataResumed(b.stream_id, at: now)
        await pipeline.rows(b.stream_id, stored, arrival: arrival)
        await hub.publish(.samples(SamplesMessage(
            sensors: record.sensors.map(\.name), rows: stored.map { .init(timestamp: Timestamp.format($0.time), values: $0.values) })),
            stream: b.stream_id)
        await hub.rows(stream: b.stream_id, sensors: record.sensors.map(\.name), rows: stored)
        return BatchResponse(ack_id: ack.ackID, buffer_status: "ok", samples_received: samples, rows_stored: rows.count, duplicate: false)
    }

    // MARK: Cycles

    func cycleEvent(_ event: CycleEvent, stream: String, metadata: [String: String]) async throws -> CycleResponse {
        _ = try known(stream)
        try TextField.checkMetadata(metadata)
        return try await serialized(stream) { try await self.cycleEventNow(event, stream: stream, metadata: metadata) }
    }

    private func cycleEventNow(_ event: CycleEvent, stream: String, metadata: [String: String]) async throws -> CycleResponse {
        var s = try known(stream)
        let now = clock()
        var machine = s.machine
        let transitions: [CycleTransition]
        do {
            transitions = try machine.handle(event, at: now)
        } catch let e as CycleEventError {
            throw APIError.conflict("invalid_cycle_event", e.description)
        }
        var record = s.record
        for t in transitions {
            if t.to == .active && event == .start {
                let cycle = CycleRecord(id: UUID().uuidString.lowercased(), streamID: stream, number: machine.cycle,
                                        state: .active, startedAt: now, metadata: metadata)
                try await store.saveCycle(cycle)
                record.currentCycleID = cycle.id
                await pipeline.startCycle(stream)
            } else if let id = record.currentCycleID, var c = try await store.cycle(id) {
                try await finish(&c, t, record)
            }
            await hub.publish(.cycleState(CycleStateMessage(t, cycleID: record.currentCycleID)), stream: stream)
        }
        record.cycleState = machine.state
        record.cycleNumber = machine.cycle
        record.stateSince = machine.since
        record.lastActivity = machine.lastActivity
        try await store.saveStream(record)
        await pipeline.update(record)
        s.record = record
        s.machine = machine
        live[stream] = s
        return CycleResponse(status: "ok", cycle_id: record.currentCycleID, state: machine.state.rawValue.lowercased(), stream_id: stream)
    }

    /// Advances every stream's clock (grace periods, sample timeouts, stale sensors).
    public func tick() async throws {
        let now = clock()
        for id in live.keys {
            guard var s = live[id] else { continue }
            if now - s.machine.lastActivity > settings.staleAfter { try await pipeline.markStale(id, at: now) }
            var machine = s.machine
            let transitions = machine.tick(at: now)
            guard !transitions.isEmpty else { continue }
            for t in transitions {
                if let cid = s.record.currentCycleID, var c = try await store.cycle(cid) { try await finish(&c, t, s.record) }
                await hub.publish(.cycleState(CycleStateMessage(t, cycleID: s.record.currentCycleID)), stream: id)
            }
            s.record.cycleState = machine.state
            s.record.stateSince = machine.since
            s.machine = machine
            try await store.saveStream(s.record)
            live[id] = s
        }
    }

    /// Records a cycle's new state; a cycle that reached STOPPED or ABORTED gets its report.
    private func finish(_ c: inout CycleRecord, _ t: CycleTransition, _ stream: StreamRecord) async throws {
        c.state = t.to
        if t.to == .stopped || t.to == .aborted { c.endedAt = t.time }
        try await store.saveCycle(c)
        if t.to == .stopped || t.to == .aborted {
            await pipeline.cycleEnded(stream: stream, cycle: c, aborted: t.to == .aborted)
        }
    }

    // MARK: Status

    func status(_ stream: String) async throws -> StatusResponse {
        let s = try known(stream)
        let scoring = await pipeline.scoring(stream)
        return StatusResponse(
            stream_id: stream, device_name: s.record.deviceName, state: s.machine.state.rawValue, cycle_id: s.record.currentCycleID,
            cycle_number: s.machine.cycle, state_since: Timestamp.format(s.machine.since),
            last_sample_at: s.record.lastTimestamp.map(Timestamp.format), samples_filled_forward: s.record.filledValues,
            sensors: zip(s.record.sensors, s.lastValues).map { .init(name: $0.name, unit: $0.unit, last_value: $1) },
            model_loaded: scoring.scored, scoring: scoring.reason)
    }
}
