/// The anomaly state of one sensor of one stream.
public enum SensorState: String, Sendable, Codable, CaseIterable {
    case normal = "NORMAL"
    case warning = "WARNING"
    case critical = "CRITICAL"
    /// No data for longer than the stream's timeout.
    case stale = "STALE"
    /// The stream is in a maintenance window: scores are not acted on.
    case suppressed = "SUPPRESSED"
}

/// Per-sensor settings of the state machine.
///
/// Defaults: `kWarn` 3, `kCrit` 30, `criticalFactor` 3, `kRecover` 5 — with a stride-1 window
/// at 1 Hz, a sensor warns after 3 s above its threshold, turns critical after 30 s of warning
/// (or at once above 3× its threshold) and recovers after 5 s back under it.
public struct SensorSettings: Sendable, Equatable, Codable {
    /// Consecutive windows with s_j > 1 before NORMAL → WARNING.
    public var kWarn: Int
    /// Windows in WARNING before → CRITICAL.
    public var kCrit: Int
    /// s_j above this → CRITICAL (from WARNING, or directly when the warning condition is met).
    public var criticalFactor: Float
    /// Consecutive windows with s_j ≤ 1 before WARNING/CRITICAL → NORMAL.
    public var kRecover: Int

    public init(kWarn: Int = 3, kCrit: Int = 30, criticalFactor: Float = 3, kRecover: Int = 5) {
        precondition(kWarn > 0 && kCrit > 0 && kRecover > 0 && criticalFactor > 1, "invalid sensor settings")
        self.kWarn = kWarn
        self.kCrit = kCrit
        self.criticalFactor = criticalFactor
        self.kRecover = kRecover
    }

    public static let `default` = SensorSettings()
}

/// What a window showed for one sensor: the numbers behind a transition.
public struct SensorEvidence: Sendable, Equatable, Codable {
    /// End time of the window (seconds).
    public var time: Double
    /// Reconstruction error e_j and its threshold.
    public var error: Float, errorThreshold: Float
    /// DTW deviation and its threshold (0 without a reference).
    public var dtwDeviation: Float, dtwThreshold: Float
    /// Sensor score s_j = max(e_j / threshold, dtw / threshold).
    public var score: Float

    public init(time: Double, error: Float, errorThreshold: Float, dtwDeviation: Float, dtwThreshold: Float, score: Float) {
        self.time = time
        self.error = error
        self.errorThreshold = errorThreshold
        self.dtwDeviation = dtwDeviation
        self.dtwThreshold = dtwThreshold
        self.score = score
    }
}

/// One state change with its reason and evidence.
public struct SensorTransition: Sendable, Equatable, Codable {
    public var from: SensorState
    public var to: SensorState
    /// When it happened (seconds).
    public var time: Double
    /// Why, in words (e.g. "3 consecutive windows above threshold").
    public var reason: String
    /// The window that triggered it, when a window did.
    public var evidence: SensorEvidence?
}
