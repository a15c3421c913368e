import Model

/// Something a stream monitor reports.
public enum MonitorOutput: Sendable, Equatable {
    case cycle(CycleTransition)
    case sensor(sensor: String, SensorTransition)
    case eventOpened(MaintenanceEvent)
    case eventEscalated(MaintenanceEvent)
}

/// Settings of a stream monitor.
public struct MonitorSettings: Sendable, Equatable {
    /// Rows between scored windows.
    public var stride: Int
    /// Seconds without data after which a stream's sensors are STALE.
    public var staleAfter: Double
    public var sensor: SensorSettings
    public var policy: MaintenancePolicy
    public var gracePeriod: Double
    public var sampleTimeout: Double

    public init(stride: Int = 1, staleAfter: Double = 30, sensor: SensorSettings = .default,
                policy: MaintenancePolicy = .init(), gracePeriod: Double = 10, sampleTimeout: Double = 30) {
        self.stride = stride
        self.staleAfter = staleAfter
        self.sensor = sensor
        self.policy = policy
        self.gracePeriod = gracePeriod
        self.sampleTimeout = sampleTimeout
    }
}

/// Everything the live pipeline knows about one stream: its cycle state machine, the window
/// buffer and live DTW of the active cycle, per-sensor state machines and open events.
///
/// Pure: rows and events come in with their times; ready windows go out as
/// ``PendingWindow``s for a ``BatchScorer`` shared by all streams, and the scored results come
/// back through ``apply(_:)``.
public struct StreamMonitor: Sendable {
    public let stream: String
    public let model: ModelFile
    public let settings: MonitorSettings
    public private(set) var cycle: CycleStateMachine
    public private(set) var sensors: [SensorStateMachine]
    /// Open events by sensor index.
    public private(set) var openEvents: [Int: MaintenanceEvent] = [:]
    public private(set) var lastData: Double?
    private var windower: StreamWindower
    private var dtw: OpenEndDTW?
    /// Open-end DTW cost per sensor after each of the last T+1 rows: `[T+1, D]` ring.
    private var costs: [Double]
    private var scaled: [Float]

    public init(stream: String, model: ModelFile, settings: MonitorSettings = .init()) {
        self.stream = stream
        self.model = model
        self.settings = settings
        let D = model.model.sensors, T = model.model.window
        cycle = CycleStateMachine(gracePeriod: settings.gracePeriod, sampleTimeout: settings.sampleTimeout)
        sensors = [SensorStateMachine](repeating: SensorStateMachine(settings: settings.sensor), count: D)
        windower = StreamWindower(window: T, stride: settings.stride, sensors: D)
        if let r = model.reference {
            var ref = r.values
            model.scaler.transform(&ref)
            dtw = OpenEndDTW(reference: ref, sensors: D, window: r.band)
        }
        costs = [Double](repeating: 0, count: (T + 1) * D)
        scaled = [Float](repeating: 0, count: D)
    }

    /// Applies a cycle event; a start resets the window buffer and the live DTW.
    public mutating func handle(_ event: CycleEvent, at time: Double) throws -> [MonitorOutput] {
        let transitions = try cycle.handle(event, at: time)
        if transitions.last?.to == .active && event == .start {
            windower.reset()
            dtw?.reset()
        }
        return transitions.map { .cycle($0) }
    }

    /// Takes one row of raw values (model sensor order) at `time`.
    ///
    /// - Returns: the window that closed at this row, if any, and what changed (a stale stream
    ///   coming back). Rows outside an active cycle update nothing but the data clock.
    public mutating func ingest(_ row: [Float], at time: Double) -> (window: PendingWindow?, outputs: [MonitorOutput]) {
        let D = model.model.sensors, T = model.model.window
        precondition(row.count == D, "row has \(row.count) values, expected \(D)")
        lastData = time
        guard cycle.sample(at: time), cycle.state == .active else { return (nil, []) }
        for j in 0..<D { scaled[j] = (row[j] - model.scaler.min[j]) / model.scaler.range(j) }
        let rowIndex = windower.rowsInCycle
        if var d = dtw {
            scaled.withUnsafeBufferPointer { d.append($0.baseAddress!) }
            dtw = d
            let slot = (rowIndex % (T + 1)) * D
            for j in 0..<D { costs[slot + j] = d.cost[j] }
        }
        let ready = scaled.withUnsafeBufferPointer { windower.append($0.baseAddress!, time: time) }
        guard ready else { return (nil, []) }
        var deviation: [Double]?
        if dtw != nil {
            // Growth of the open-end cost over the window's T rows, per row.
            let end = (rowIndex % (T + 1)) * D
            let startRow = rowIndex - T
            deviation = (0..<D).map { j in
                let before = startRow >= 0 ? costs[(startRow % (T + 1)) * D + j] : 0
                return (costs[end + j] - before) / Double(T)
            }
        }
        let w = PendingWindow(stream: stream, values: windower.currentWindow(), startTime: windower.windowStartTime,
                              endTime: time, endRow: rowIndex, dtwDeviation: deviation)
        return (w, [])
    }

    /// Feeds a scored window to the sensor state machines and the maintenance policy.
    public mutating func apply(_ r: WindowResult) -> [MonitorOutput] {
        let names = model.sensors
        let contributions = (0..<names.count).map { SensorContribution(sensor: names[$0], score: r.sensorScores[$0]) }
        var out: [MonitorOutput] = []
        for j in 0..<names.count {
            let evidence = SensorEvidence(
                time: r.endTime, error: r.errors[j], errorThreshold: model.calibration.sensorThreshold[j],
                dtwDeviation: r.dtwDeviation[j], dtwThreshold: model.reference?.dtwThreshold[j] ?? 0,
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

    /// Advances time: cycle grace period and timeout, and stale sensors.
    public mutating func tick(at time: Double) -> [MonitorOutput] {
        var out = cycle.tick(at: time).map { MonitorOutput.cycle($0) }
        if let last = lastData, time - last > settings.staleAfter {
            for j in sensors.indices {
                if let t = sensors[j].markStale(at: time) { out.append(.sensor(sensor: model.sensors[j], t)) }
            }
        }
        return out
    }

    /// Forgets an event that was resolved elsewhere (by an engineer), so a new one may open.
    public mutating func eventResolved(sensor j: Int) { openEvents[j] = nil }

    /// Starts or ends a maintenance window: every sensor SUPPRESSED, or back to NORMAL.
    public mutating func setMaintenance(_ on: Bool, at time: Double) -> [MonitorOutput] {
        sensors.indices.compactMap { j in
            let t = on ? sensors[j].suppress(at: time) : sensors[j].resume(at: time)
            return t.map { .sensor(sensor: model.sensors[j], $0) }
        }
    }
}
