/// The anomaly state machine of one (stream, sensor), DESIGN.md:
///
/// - NORMAL → WARNING after `kWarn` consecutive windows with s > 1 (→ CRITICAL instead when the
///   last of them has s > `criticalFactor`);
/// - WARNING → CRITICAL when s > `criticalFactor`, or after `kCrit` windows in WARNING;
/// - WARNING/CRITICAL → NORMAL after `kRecover` consecutive windows with s ≤ 1 (hysteresis: a
///   single window above or below the threshold changes nothing);
/// - any → STALE when the stream goes silent (``markStale(at:)``), back to NORMAL when data
///   comes again (``dataResumed(at:)``) or with the next window;
/// - any → SUPPRESSED during maintenance (``suppress(at:)``), back to NORMAL (STALE when silent) on ``resume(at:silent:)``;
///   windows are ignored meanwhile.
public struct SensorStateMachine: Sendable, Equatable {
    public private(set) var state: SensorState = .normal
    public var settings: SensorSettings
    /// Consecutive windows above threshold (s > 1).
    public private(set) var above = 0
    /// Consecutive windows at or below threshold.
    public private(set) var below = 0
    /// Windows spent in WARNING.
    public private(set) var warningWindows = 0
    /// When the current state began.
    public private(set) var since: Double

    public init(settings: SensorSettings = .default, at time: Double = 0) {
        self.settings = settings
        since = time
    }

    /// Restores a stored state (e.g. after a restart).
    public init(restoring state: SensorState, since: Double, settings: SensorSettings = .default,
                above: Int = 0, below: Int = 0, warningWindows: Int = 0) {
        self.state = state
        self.since = since
        self.settings = settings
        self.above = above
        self.below = below
        self.warningWindows = warningWindows
    }

    /// Takes one scored window.
    ///
    /// - Returns: the transition it caused, if any.
    public mutating func observe(_ e: SensorEvidence) -> SensorTransition? {
        let s = e.score
        switch state {
        case .suppressed:
            return nil
        case .stale:
            (above, below, warningWindows) = (s > 1 ? 1 : 0, s > 1 ? 0 : 1, 0)
            return move(to: .normal, at: e.time, reason: "data resumed", e)
        case .normal:
            if s > 1 { above += 1; below = 0 } else { above = 0; below += 1 }
            guard above >= settings.kWarn else { return nil }
            warningWindows = 0
            if s > settings.criticalFactor {
                return move(to: .critical, at: e.time, reason: "\(above) consecutive windows above threshold, the last above \(settings.criticalFactor)×", e)
            }
            return move(to: .warning, at: e.time, reason: "\(above) consecutive windows above threshold", e)
        case .warning:
            warningWindows += 1
            if s > 1 { above += 1; below = 0 } else { above = 0; below += 1 }
            if below >= settings.kRecover {
                return move(to: .normal, at: e.time, reason: "\(below) consecutive windows at or below threshold", e)
            }
            if s > settings.criticalFactor {
                return move(to: .critical, at: e.time, reason: "score \(twoDecimals(s)) above \(settings.criticalFactor)× threshold", e)
            }
            if warningWindows >= settings.kCrit {
                return move(to: .critical, at: e.time, reason: "warning lasted \(warningWindows) windows", e)
            }
            return nil
        case .critical:
            if s > 1 { above += 1; below = 0 } else { above = 0; below += 1 }
            if below >= settings.kRecover {
                return move(to: .normal, at: e.time, reason: "\(below) consecutive windows at or below threshold", e)
            }
            return nil
        }
    }

    /// The stream has been silent longer than its timeout.
    public mutating func markStale(at time: Double) -> SensorTransition? {
        guard state != .stale && state != .suppressed else { return nil }
        return move(to: .stale, at: time, reason: "no data", nil)
    }

    /// The stream sends again after it went silent: STALE → NORMAL at once, whether or not its
    /// rows belong to a scored cycle.
    public mutating func dataResumed(at time: Double) -> SensorTransition? {
        guard state == .stale else { return nil }
        (above, below, warningWindows) = (0, 0, 0)
        return move(to: .normal, at: time, reason: "data resumed", nil)
    }

    /// The stream entered a maintenance window.
    public mutating func suppress(at time: Double) -> SensorTransition? {
        guard state != .suppressed else { return nil }
        return move(to: .suppressed, at: time, reason: "maintenance window", nil)
    }

    /// The maintenance window ended: back to NORMAL, or straight to STALE when the stream is
    /// `silent` (nothing arrived for its stale time), so a silent stream does not show NORMAL for
    /// a moment before the next tick marks it STALE.
    public mutating func resume(at time: Double, silent: Bool = false) -> SensorTransition? {
        guard state == .suppressed else { return nil }
        (above, below, warningWindows) = (0, 0, 0)
        return silent ? move(to: .stale, at: time, reason: "maintenance window ended; no data", nil)
                      : move(to: .normal, at: time, reason: "maintenance window ended", nil)
    }

    private mutating func move(to next: SensorState, at time: Double, reason: String, _ e: SensorEvidence?) -> SensorTransition {
        let t = SensorTransition(from: state, to: next, time: time, reason: reason, evidence: e)
        state = next
        since = time
        if next == .normal { (above, warningWindows) = (0, 0) }
        if next != .normal { below = 0 }
        return t
    }
}

/// A score as people read it in a reason (6.12, not 6.1197925).
func twoDecimals(_ x: Float) -> Double { (Double(x) * 100).rounded() / 100 }
