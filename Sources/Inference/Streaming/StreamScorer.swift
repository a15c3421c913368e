import Model

/// The scoring side of one stream, without its cycle state machine: the window buffer and live
/// DTW of the active cycle, per-sensor state machines and open maintenance events.
///
/// The owner decides which rows belong to the active cycle (``startCycle()`` then
/// ``ingest(_:at:)``); ready windows go out as ``PendingWindow``s for a ``BatchScorer`` shared by
/// all streams, and the results come back through ``apply(_:)``.
public struct StreamScorer: Sendable {
    public let stream: String
    public let model: ModelFile
    public let settings: MonitorSettings
    public private(set) var sensors: [SensorStateMachine]
    /// Open events by sensor index.
    public private(set) var openEvents: [Int: MaintenanceEvent] = [:]
    private var windower: StreamWindower
    private var dtw: OpenEndDTW?
    /// Open-end DTW cost per sensor after each of the last T+1 rows: `[T+1, D]` ring.
    private var costs: [Double]
    /// Reference row aligned with each of the last T+1 rows (ring, like `costs`).
    private var positions: [Int]
    private var scaled: [Float]

    public init(stream: String, model: ModelFile, settings: MonitorSettings = .init()) {
        self.stream = stream
        self.model = model
        self.settings = settings
        let D = model.model.sensors, T = model.model.window
        sensors = [SensorStateMachine](repeating: SensorStateMachine(settings: settings.sensor), count: D)
        windower = StreamWindower(window: T, stride: settings.stride, sensors: D)
        if let r = model.reference {
            var ref = r.values
            model.scaler.transform(&ref)
            dtw = OpenEndDTW(reference: ref, sensors: D, window: r.band)
        }
        costs = [Double](repeating: 0, count: (T + 1) * D)
        positions = [Int](repeating: 0, count: T + 1)
        scaled = [Float](repeating: 0, count: D)
    }

    /// Restores stored sensor states and open events (after a restart).
    public mutating func restore(sensors restored: [SensorStateMachine], openEvents: [Int: MaintenanceEvent]) {
        precondition(restored.count == sensors.count, "sensor count differs")
        sensors = restored
        self.openEvents = openEvents
    }

    /// A new cycle: no window or DTW alignment reaches back before it.
    public mutating func startCycle() {
        windower.reset()
        dtw?.reset()
    }

    /// Rows of the current cycle so far.
    public var rowsInCycle: Int { windower.rowsInCycle }

    /// Takes one row of the active cycle (raw values, model sensor order) at `time`.
    ///
    /// - Returns: the window that closed at this row, if any.
    public mutating func ingest(_ row: [Float], at time: Double) -> PendingWindow? {
        let D = model.model.sensors, T = model.model.window
        precondition(row.count == D, "row has \(row.count) values, expected \(D)")
        for j in 0..<D { scaled[j] = Finite.scaled((row[j] - model.scaler.min[j]) / model.scaler.range(j)) }
        let rowIndex = windower.rowsInCycle
        if var d = dtw {
            scaled.withUnsafeBufferPointer { d.append($0.baseAddress!) }
            dtw = d
            let slot = (rowIndex % (T + 1)) * D
            for j in 0..<D { costs[slot + j] = d.cost[j] }
            positions[rowIndex % (T + 1)] = d.position
        }
        let ready = scaled.withUnsafeBufferPointer { windower.append($0.baseAddress!, time: time) }
        guard ready else { return nil }
        var deviation: [Double]?
        var aligned: ClosedRange<Int>?
        if dtw != nil {
            // Growth of the open-end cost over the window's T rows, per row.
            let end = (rowIndex % (T + 1)) * D
            let startRow = rowIndex - T
            deviation = (0..<D).map { j in
                let before = startRow >= 0 ? costs[(startRow % (T + 1)) * D + j] : 0
                return (costs[end + j] - before) / Double(T)
            }
            let first = positions[(rowIndex - T + 1) % (T + 1)], last = positions[rowIndex % (T + 1)]
            aligned = min(first, last)...max(first, last)
        }
        return PendingWindow(stream: stream, values: windower.currentWindow(), startTime: windower.windowStartTime,
                             endTime: time, endRow: rowIndex, dtwDeviation: deviation, aligned: aligned)
    }

    /// Feeds a scored window to the sensor state machines and the maintenance policy.
    public mutating func apply(_ r: WindowResult) -> [MonitorOutput] {
        let names = model.sensors
        let contributions = (0..<names.count).map { SensorContribution(sensor: names[$0], score: r.sensorScores[$0]) }
        var out: [MonitorOutput] = []
        for j in 0..<names.count {
            let evidence = SensorEvidence(
                time: r.endTime, error: r.errors[j], errorThreshold: r.errorThresholds[j],
                dtwDeviation: r.dtwDeviation[j], dtwThreshold: r.dtwThresholds[j],
                score: r.sensorScores[j])
            let transition = sensors[j].observe(evidence)
            if let transition { out.append(.sensor(sensor: names[j], transition)) }
            switch settings.policy.decide(stream: stream, sensor: names[j], state: sensors[j], transition: transition,
                                          evidence: evidence, contributions: contributions, existing: openEvents[j]) {
            case .none: break
            case .open(let e): openEvents[j] = e; out.append(.eventOpened(e))
            case .escalate(let e): openEvents[j] = e; out.append(.eventEscalated(e))
            }
        }
        return out
    }

    /// Every sensor STALE (the stream went silent).
    public mutating func markStale(at time: Double) -> [MonitorOutput] {
        sensors.indices.compactMap { j in sensors[j].markStale(at: time).map { .sensor(sensor: model.sensors[j], $0) } }
    }

    /// Every STALE sensor back to NORMAL (the stream sends again).
    public mutating func dataResumed(at time: Double) -> [MonitorOutput] {
        sensors.indices.compactMap { j in sensors[j].dataResumed(at: time).map { .sensor(sensor: model.sensors[j], $0) } }
    }

    /// Forgets an event that was resolved elsewhere (by an engineer), so a new one may open.
    public mutating func eventResolved(sensor j: Int) { openEvents[j] = nil }

    /// Takes an engineer's change of an open event (acknowledgement, note), so that a later
    /// escalation carries it on rather than the copy from before.
    /// Scoring keeps its own severity, reason and evidence (they may be newer than the reviewed
    /// copy, whose escalation is not stored yet); the review's status, acknowledgement and note
    /// are taken.
    public mutating func eventReviewed(_ e: MaintenanceEvent) {
        guard let j = openEvents.first(where: { $0.value.id == e.id })?.key else { return }
        openEvents[j] = e.isOpen ? openEvents[j]!.keepingReview(of: e) : nil
    }

    /// Starts or ends a maintenance window: every sensor SUPPRESSED, or back to NORMAL (STALE
    /// when the stream is `silent`).
    public mutating func setMaintenance(_ on: Bool, at time: Double, silent: Bool = false) -> [MonitorOutput] {
        sensors.indices.compactMap { j in
            let t = on ? sensors[j].suppress(at: time) : sensors[j].resume(at: time, silent: silent)
            return t.map { .sensor(sensor: model.sensors[j], $0) }
        }
    }
}
