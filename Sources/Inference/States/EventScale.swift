/// How far a cycle's sensor scores are from raising a maintenance event: the smallest factor by
/// which every threshold would have to grow for the live state machines (``SensorStateMachine``
/// and ``MaintenancePolicy``, with their hysteresis and durations) to open no event on the cycle.
/// Calibration sets thresholds from it; `vertac-train evaluate` reports it as a continuous cycle
/// score (above 1: the model as calibrated raises an event).
public enum EventScale {
    /// Whether the windows of one sensor, with every score divided by `scale`, open an event.
    ///
    /// - Parameters:
    ///   - scores: the sensor's scores s_j, one per window in order.
    ///   - times: the windows' end times (seconds).
    public static func opensEvent(_ scores: [Float], times: [Double], scale: Float,
                                  settings: SensorSettings = .default, policy: MaintenancePolicy = .init()) -> Bool {
        precondition(scores.count == times.count, "one time per window")
        guard scale > 0 else { return scores.contains { $0 > 0 } }
        var machine = SensorStateMachine(settings: settings, at: times.first ?? 0)
        for k in scores.indices {
            let e = SensorEvidence(time: times[k], error: 0, errorThreshold: 1, dtwDeviation: 0, dtwThreshold: 1,
                                   score: scores[k] / scale)
            let t = machine.observe(e)
            if machine.state == .critical || machine.state == .warning {
                if case .open = policy.decide(stream: "", sensor: "", state: machine, transition: t, evidence: e,
                                              contributions: [], existing: nil) { return true }
            }
        }
        return false
    }

    /// The smallest scale (within a relative 0.1 %) at which the sensor's windows open no event;
    /// 0 when they open none even at a millionth of their largest score.
    public static func required(_ scores: [Float], times: [Double], settings: SensorSettings = .default,
                                policy: MaintenancePolicy = .init()) -> Float {
        guard let top = scores.max(), top > 0 else { return 0 }
        guard top.isFinite else { return .greatestFiniteMagnitude }
        // At the largest score no score is above 1, so no event opens.
        var lo = Double(top) * 1e-6, hi = Double(top)
        guard opensEvent(scores, times: times, scale: Float(lo), settings: settings, policy: policy) else { return 0 }
        while hi / lo > 1.001 {
            let mid = (lo * hi).squareRoot()
            if opensEvent(scores, times: times, scale: Float(mid), settings: settings, policy: policy) { lo = mid } else { hi = mid }
        }
        return Float(hi)
    }

    /// ``required(_:times:settings:policy:)`` over every sensor: `[W, D]` window-major scores.
    public static func required(windows scores: [Float], sensors D: Int, times: [Double], settings: SensorSettings = .default,
                                policy: MaintenancePolicy = .init()) -> Float {
        precondition(D > 0 && scores.count == times.count * D, "scores are not [windows, sensors]")
        var worst: Float = 0
        for j in 0..<D {
            let column = Swift.stride(from: j, to: scores.count, by: D).map { scores[$0] }
            worst = Swift.max(worst, required(column, times: times, settings: settings, policy: policy))
        }
        return worst
    }
}
