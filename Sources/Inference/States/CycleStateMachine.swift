/// VerTac's cycle states (source: VerTac v0.2.0 architecture, section 2.3).
public enum CycleState: String, Sendable, Codable, CaseIterable {
    /// No registration.
    case idle = "IDLE"
    /// Registered, waiting for a cycle to start.
    case waitingStart = "WAITING_START"
    case active = "ACTIVE"
    case paused = "PAUSED"
    /// Stop received; waiting out the grace period for late samples.
    case stopping = "STOPPING"
    /// Complete, ready for analysis.
    case stopped = "STOPPED"
    /// Ended abnormally: no samples for longer than the sample timeout.
    case aborted = "ABORTED"
}

/// An event the cycle state machine takes.
public enum CycleEvent: String, Sendable, Codable {
    case register, start, pause, resume, stop, acknowledge
}

/// A cycle event that is not allowed in the current state.
public struct CycleEventError: Error, Equatable, CustomStringConvertible {
    public let event: CycleEvent
    public let state: CycleState
    public var description: String { "cannot \(event.rawValue) a cycle in state \(state.rawValue)" }
}

/// A change of cycle state.
public struct CycleTransition: Sendable, Equatable, Codable {
    public var from: CycleState
    public var to: CycleState
    public var time: Double
    /// The cycle concerned (its number within the stream, from 1).
    public var cycle: Int
    public var reason: String
}

/// The cycle state machine of one stream. Time is passed in (seconds); nothing here reads a clock.
///
/// register: IDLE → WAITING_START. start: WAITING_START → ACTIVE, and STOPPED/ABORTED → ACTIVE
/// for the next cycle (machines run cycle after cycle), and STOPPING → STOPPED → ACTIVE when the
/// next cycle starts within the grace period. pause/resume: ACTIVE ⇄ PAUSED. stop: ACTIVE or
/// PAUSED → STOPPING; STOPPING → STOPPED once the grace period has passed with no new sample.
/// ACTIVE → ABORTED when no sample came for longer than the sample timeout (a sample within
/// the timeout keeps the cycle: a reconnection). acknowledge: STOPPED/ABORTED → WAITING_START.
/// Anything else is rejected with the current state named.
public struct CycleStateMachine: Sendable, Equatable {
    public private(set) var state: CycleState = .idle
    /// Number of the current (or last) cycle, from 1; 0 before the first.
    public private(set) var cycle = 0
    /// Seconds after the stop during which late samples still belong to the cycle (VerTac: 10).
    public var gracePeriod: Double
    /// Seconds without a sample after which an active cycle is aborted (VerTac: 30).
    public var sampleTimeout: Double
    /// Time of the last sample, start or stop, whichever is latest.
    public private(set) var lastActivity: Double = 0
    /// When the current state began.
    public private(set) var since: Double = 0

    public init(gracePeriod: Double = 10, sampleTimeout: Double = 30) {
        precondition(gracePeriod >= 0 && sampleTimeout > 0, "invalid cycle timing")
        self.gracePeriod = gracePeriod
        self.sampleTimeout = sampleTimeout
    }

    /// Restores a stored state (e.g. after a restart).
    public init(restoring state: CycleState, cycle: Int, since: Double, lastActivity: Double,
                gracePeriod: Double = 10, sampleTimeout: Double = 30) {
        self.init(gracePeriod: gracePeriod, sampleTimeout: sampleTimeout)
        self.state = state
        self.cycle = cycle
        self.since = since
        self.lastActivity = lastActivity
    }

    /// Applies an event.
    ///
    /// - Returns: the transitions it caused (none for a repeated register).
    /// - Throws: ``CycleEventError`` naming the current state when the event is not allowed.
    public mutating func handle(_ event: CycleEvent, at time: Double) throws -> [CycleTransition] {
        switch (event, state) {
        case (.register, .idle):
            return [move(to: .waitingStart, at: time, reason: "stream registered")]
        case (.register, _):
            return []   // already registered: idempotent
        case (.start, .waitingStart), (.start, .stopped), (.start, .aborted):
            cycle += 1
            lastActivity = time
            return [move(to: .active, at: time, reason: "cycle_start")]
        case (.start, .stopping):
            let done = move(to: .stopped, at: time, reason: "next cycle started")
            cycle += 1
            lastActivity = time
            return [done, move(to: .active, at: time, reason: "cycle_start")]
        case (.pause, .active):
            return [move(to: .paused, at: time, reason: "cycle_pause")]
        case (.resume, .paused):
            lastActivity = time
            return [move(to: .active, at: time, reason: "cycle_resume")]
        case (.stop, .active), (.stop, .paused):
            lastActivity = time
            return [move(to: .stopping, at: time, reason: "cycle_stop")]
        case (.acknowledge, .stopped), (.acknowledge, .aborted):
            return [move(to: .waitingStart, at: time, reason: "acknowledged")]
        default:
            throw CycleEventError(event: event, state: state)
        }
    }

    /// Records a sample at `time`. Every sample is activity, in a cycle or not, so that a
    /// stream that keeps sending between cycles is never taken for a silent one.
    ///
    /// - Returns: whether the sample belongs to the current cycle (ACTIVE, or STOPPING within
    ///   the grace period); samples outside a cycle are the caller's to keep or drop.
    public mutating func sample(at time: Double) -> Bool {
        lastActivity = max(lastActivity, time)
        return state == .active || state == .stopping
    }

    /// Advances time: ends the grace period or aborts a silent cycle.
    public mutating func tick(at time: Double) -> [CycleTransition] {
        switch state {
        case .stopping where time - lastActivity >= gracePeriod:
            return [move(to: .stopped, at: time, reason: "grace period elapsed")]
        case .active where time - lastActivity > sampleTimeout:
            return [move(to: .aborted, at: time, reason: "no samples for \(Int(time - lastActivity)) s (timeout \(Int(sampleTimeout)) s)")]
        default:
            return []
        }
    }

    private mutating func move(to next: CycleState, at time: Double, reason: String) -> CycleTransition {
        let t = CycleTransition(from: state, to: next, time: time, cycle: cycle, reason: reason)
        state = next
        since = time
        return t
    }
}
