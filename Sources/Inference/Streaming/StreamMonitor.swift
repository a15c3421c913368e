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

/// A stream scored offline: a ``CycleStateMachine`` in front of a ``StreamScorer`` — what
/// `vertac-train evaluate` and the scenario tests replay cycles through. The server keeps its
/// own cycle state machine and drives a ``StreamScorer`` directly.
public struct StreamMonitor: Sendable {
    public private(set) var cycle: CycleStateMachine
    public private(set) var scorer: StreamScorer
    public private(set) var lastData: Double?
    public var stream: String { scorer.stream }
    public var model: ModelFile { scorer.model }
    public var sensors: [SensorStateMachine] { scorer.sensors }
    public var openEvents: [Int: MaintenanceEvent] { scorer.openEvents }

    public init(stream: String, model: ModelFile, settings: MonitorSettings = .init()) {
        cycle = CycleStateMachine(gracePeriod: settings.gracePeriod, sampleTimeout: settings.sampleTimeout)
        scorer = StreamScorer(stream: stream, model: model, settings: settings)
    }

    /// Applies a cycle event; a start resets the window buffer and the live DTW.
    public mutating func handle(_ event: CycleEvent, at time: Double) throws -> [MonitorOutput] {
        let transitions = try cycle.handle(event, at: time)
        if transitions.last?.to == .active && event == .start { scorer.startCycle() }
        return transitions.map { .cycle($0) }
    }

    /// Takes one row of raw values (model sensor order) at `time`; rows outside an active cycle
    /// update nothing but the data clock.
    public mutating func ingest(_ row: [Float], at time: Double) -> (window: PendingWindow?, outputs: [MonitorOutput]) {
        lastData = time
        guard cycle.sample(at: time), cycle.state == .active else { return (nil, []) }
        return (scorer.ingest(row, at: time), [])
    }

    /// Feeds a scored window to the sensor state machines and the maintenance policy.
    public mutating func apply(_ r: WindowResult) -> [MonitorOutput] { scorer.apply(r) }

    /// Advances time: cycle grace period and timeout, and stale sensors.
    public mutating func tick(at time: Double) -> [MonitorOutput] {
        var out = cycle.tick(at: time).map { MonitorOutput.cycle($0) }
        if let last = lastData, time - last > scorer.settings.staleAfter { out += scorer.markStale(at: time) }
        return out
    }

    /// Forgets an event that was resolved elsewhere, so a new one may open.
    public mutating func eventResolved(sensor j: Int) { scorer.eventResolved(sensor: j) }

    /// Starts or ends a maintenance window.
    public mutating func setMaintenance(_ on: Bool, at time: Double) -> [MonitorOutput] { scorer.setMaintenance(on, at: time) }
}
