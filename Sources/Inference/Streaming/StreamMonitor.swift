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

/// Everything live about one stream in one value: its cycle state machine in front of a
/// ``StreamScorer`` (window buffer, live DTW, sensor states, open events) — or none, when no
/// model scores the stream and only its cycles are tracked.
///
/// `vertac-train evaluate` and the scenario tests replay cycles through it; the server's stream
/// owner holds one per stream and routes every ingest, cycle command, scored window and
/// engineer's change through it.
public struct StreamMonitor: Sendable {
    public let stream: String
    public let settings: MonitorSettings
    public private(set) var cycle: CycleStateMachine
    /// Nil: no model scores this stream.
    public private(set) var scorer: StreamScorer?
    public var model: ModelFile? { scorer?.model }
    public var sensors: [SensorStateMachine] { scorer?.sensors ?? [] }
    public var openEvents: [Int: MaintenanceEvent] { scorer?.openEvents ?? [:] }

    public init(stream: String, model: ModelFile?, settings: MonitorSettings = .init()) {
        self.init(stream: stream, cycle: CycleStateMachine(gracePeriod: settings.gracePeriod, sampleTimeout: settings.sampleTimeout),
                  settings: settings)
        scorer = model.map { StreamScorer(stream: stream, model: $0, settings: settings) }
    }

    /// A stream whose cycle state machine is restored (after a restart); no model yet.
    public init(stream: String, cycle: CycleStateMachine, settings: MonitorSettings = .init()) {
        self.stream = stream
        self.settings = settings
        self.cycle = cycle
    }

    /// Scores with `scorer` from now on (nil: nothing is scored). The caller replays the current
    /// cycle's rows through ``window(_:at:)`` to rebuild its windows and alignment.
    public mutating func score(with scorer: StreamScorer?) {
        precondition(scorer.map { $0.stream == stream } ?? true, "the scorer belongs to another stream")
        self.scorer = scorer
    }

    /// Applies a cycle event; a start resets the window buffer and the live DTW.
    public mutating func handle(_ event: CycleEvent, at time: Double) throws -> [MonitorOutput] {
        let transitions = try cycle.handle(event, at: time)
        if transitions.last?.to == .active && event == .start { scorer?.startCycle() }
        return transitions.map { .cycle($0) }
    }

    /// Whether rows received now would join the current cycle (ACTIVE, or STOPPING within the
    /// grace period), without recording anything.
    public var takesRows: Bool { cycle.state == .active || cycle.state == .stopping }

    /// Records that rows arrived at `time` (any state: a stream that sends is not silent).
    ///
    /// - Returns: whether they belong to the current cycle, and the STALE sensors that became
    ///   NORMAL again.
    public mutating func admit(at time: Double) -> (inCycle: Bool, outputs: [MonitorOutput]) {
        let inCycle = cycle.sample(at: time)
        return (inCycle, scorer?.dataResumed(at: time) ?? [])
    }

    /// Takes one row of the current cycle (raw values, model sensor order) into the window
    /// buffer and the live DTW.
    ///
    /// - Returns: the window that closed at this row, if any (nil too when nothing is scored).
    public mutating func window(_ row: [Float], at time: Double) -> PendingWindow? { scorer?.ingest(row, at: time) }

    /// Takes one row of raw values (model sensor order) at `time` — ``admit(at:)`` then, in a
    /// cycle, ``window(_:at:)``.
    public mutating func ingest(_ row: [Float], at time: Double) -> (window: PendingWindow?, outputs: [MonitorOutput]) {
        let (inCycle, outputs) = admit(at: time)
        return (inCycle ? window(row, at: time) : nil, outputs)
    }

    /// Feeds a scored window to the sensor state machines and the maintenance policy.
    public mutating func apply(_ r: WindowResult) -> [MonitorOutput] { scorer?.apply(r) ?? [] }

    /// Advances time: cycle grace period and timeout, and STALE sensors when nothing at all
    /// arrived for ``MonitorSettings/staleAfter`` seconds.
    public mutating func tick(at time: Double) -> [MonitorOutput] {
        let silent = time - cycle.lastActivity > settings.staleAfter
        var out = cycle.tick(at: time).map { MonitorOutput.cycle($0) }
        if silent { out += scorer?.markStale(at: time) ?? [] }
        return out
    }

    /// Restores stored sensor states and open events (after a restart or a model switch).
    public mutating func restore(sensors: [SensorStateMachine], openEvents: [Int: MaintenanceEvent]) {
        scorer?.restore(sensors: sensors, openEvents: openEvents)
    }

    /// Forgets an event that was resolved elsewhere, so a new one may open.
    public mutating func eventResolved(sensor j: Int) { scorer?.eventResolved(sensor: j) }

    /// Takes an engineer's change of an open event, so that a later escalation keeps it.
    public mutating func eventReviewed(_ e: MaintenanceEvent) { scorer?.eventReviewed(e) }

    /// Starts or ends a maintenance window; at its end the sensors of a stream silent for its
    /// stale time go straight to STALE.
    public mutating func setMaintenance(_ on: Bool, at time: Double) -> [MonitorOutput] {
        scorer?.setMaintenance(on, at: time, silent: time - cycle.lastActivity > settings.staleAfter) ?? []
    }
}
