import Inference
import Model

/// One scored window of a file or cycle.
public struct ScoredWindow: Sendable, Equatable {
    /// First and last row (0-based over the data rows).
    public var startRow: Int, endRow: Int
    /// Window score (mean of the per-sensor errors).
    public var score: Float
    /// Per-sensor reconstruction errors, model sensor order.
    public var errors: [Float]
}

/// Scores raw data with a model file.
public enum ModelScoring {
    /// Windows of `T` rows every `stride` rows over one cycle `[rows, D]` (raw, model sensor order).
    public static func score(_ file: ModelFile, values: [Float], rows: Int, stride: Int = 1, threads: Int = 1) -> [ScoredWindow] {
        let T = file.model.window, D = file.model.sensors
        guard rows >= T else { return [] }
        var scaled = values
        file.scaler.transform(&scaled)
        let starts = Array(Swift.stride(from: 0, through: rows - T, by: stride))
        var windows = [Float]()
        windows.reserveCapacity(starts.count * T * D)
        for s in starts { windows += scaled[(s * D)..<((s + T) * D)] }
        let (scores, errors) = WindowScorer(model: file.model, threads: threads).score(windows)
        return starts.enumerated().map { k, s in
            ScoredWindow(startRow: s, endRow: s + T - 1, score: scores[k], errors: Array(errors[(k * D)..<((k + 1) * D)]))
        }
    }

    /// Row decisions as the live server makes them, one cycle at a time: the cycle is replayed by
    /// ``CycleEvaluator`` (a ``StreamMonitor`` with live DTW against the reference cycle when the
    /// model has one, and a ``BatchScorer``), rows timed by their index; row r is anomalous when
    /// the window ending at r has any sensor score s_j = max(e_j / threshold_j, dtw_j /
    /// dtw_threshold_j) above 1, or a window score above the window threshold. The first T−1 rows
    /// of a cycle end no window and are not flagged — the same rows the live server cannot judge
    /// yet. (The sensor state machine's hysteresis is not applied: this measures the detector,
    /// window by window.)
    public static func decisions(_ file: ModelFile, values: [Float], rows: Int, threads: Int = 1) -> [Float] {
        CycleEvaluator.evaluate(model: file, values: values, rows: rows, times: nil, threads: threads, withReport: false)
            .flags.map { $0 ? 1 : 0 }
    }
}
