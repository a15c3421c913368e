import Model

/// A window waiting to be scored: its scaled values and what the stream knew when it closed.
public struct PendingWindow: Sendable {
    /// The stream it came from (opaque to the scorer).
    public var stream: String
    /// `[T, D]` scaled values, oldest row first.
    public var values: [Float]
    /// Time of the window's first and last row (seconds, the stream's clock).
    public var startTime: Double, endTime: Double
    /// Index of the window's last row in its cycle (0-based).
    public var endRow: Int
    /// Per-sensor DTW deviation over the window, or `nil` without a reference cycle.
    public var dtwDeviation: [Double]?
    /// Reference rows the window's first and last row align with (live DTW), or `nil` without a
    /// reference cycle: where in the cycle the window lies, for position-dependent thresholds.
    public var aligned: ClosedRange<Int>?

    public init(stream: String, values: [Float], startTime: Double, endTime: Double, endRow: Int, dtwDeviation: [Double]?,
                aligned: ClosedRange<Int>? = nil) {
        self.stream = stream
        self.values = values
        self.startTime = startTime
        self.endTime = endTime
        self.endRow = endRow
        self.dtwDeviation = dtwDeviation
        self.aligned = aligned
    }
}

/// The scored window: per-sensor errors, ratios and sensor scores (DESIGN.md).
public struct WindowResult: Sendable, Equatable {
    public var stream: String
    public var startTime: Double, endTime: Double
    public var endRow: Int
    /// Window score: mean of the per-sensor errors.
    public var score: Float
    /// Per-sensor reconstruction error e_j (scaled units).
    public var errors: [Float]
    /// r_j = e_j / sensor_threshold_j.
    public var errorRatios: [Float]
    /// DTW deviation per sensor (0 without a reference).
    public var dtwDeviation: [Float]
    /// d_j = dtw_deviation_j / dtw_threshold_j (0 without a reference).
    public var dtwRatios: [Float]
    /// v_j = variation floor / the window's variation: above 1 when the sensor moves less than
    /// it normally does there (stuck); 0 without a golden-cycle envelope.
    public var stillRatios: [Float]
    /// s_j = max(r_j, d_j, v_j).
    public var sensorScores: [Float]
    /// Whether the window score exceeds the window threshold.
    public var windowAnomalous: Bool
    /// The thresholds the window was held to (the envelope's where the window lies, or the
    /// global ones): per-sensor error and DTW deviation (0 without a reference).
    public var errorThresholds: [Float]
    public var dtwThresholds: [Float]
}

/// Scores ready windows from many streams in one batched forward pass and turns errors into
/// ratios against the model's calibrated thresholds.
public final class BatchScorer: @unchecked Sendable {
    /// The model file scored with.
    public let model: ModelFile
    private let scorer: WindowScorer

    /// - Parameters:
    ///   - model: a loaded model file (thresholds and, if present, the reference cycle).
    ///   - threads: worker threads for the forward pass.
    public init(model: ModelFile, threads: Int = 1) {
        self.model = model
        scorer = WindowScorer(model: model.model, threads: threads, chunk: 128)
    }

    /// Scores `windows` (each `[T, D]` scaled) in one call.
    public func score(_ windows: [PendingWindow]) -> [WindowResult] {
        guard !windows.isEmpty else { return [] }
        let T = model.model.window, D = model.model.sensors
        var flat = [Float]()
        flat.reserveCapacity(windows.count * T * D)
        for w in windows {
            precondition(w.values.count == T * D, "window of \(w.values.count) values, expected \(T * D)")
            flat.append(contentsOf: w.values)
        }
        let (scores, errors) = scorer.score(flat)
        // Every figure leaves finite (``Finite``): one window's overflow must neither hide an
        // anomaly (NaN is never above a threshold) nor make its results unstorable.
        return windows.enumerated().map { k, w in
            let th = thresholds(w)
            let e = errors[k * D..<(k + 1) * D].map(Finite.score)
            let r = (0..<D).map { Finite.score(e[$0] / max(th.sensor[$0], .leastNormalMagnitude)) }
            let dev = w.dtwDeviation.map { $0.map { Finite.score(Float($0)) } } ?? [Float](repeating: 0, count: D)
            let d: [Float] = th.dtw.map { th in (0..<D).map { Finite.score(dev[$0] / max(th[$0], .leastNormalMagnitude)) } }
                ?? [Float](repeating: 0, count: D)
            var v = [Float](repeating: 0, count: D)
            if let floor = th.variation {
                let moved = w.values.withUnsafeBufferPointer { ThresholdEnvelope.variation($0, rows: T, sensors: D) }
                v = (0..<D).map { ThresholdEnvelope.stillRatio(floor: floor[$0], moved: moved[$0]) }
            }
            let score = Finite.score(scores[k])
            return WindowResult(stream: w.stream, startTime: w.startTime, endTime: w.endTime, endRow: w.endRow,
                                score: score, errors: e, errorRatios: r, dtwDeviation: dev, dtwRatios: d, stillRatios: v,
                                sensorScores: (0..<D).map { max(r[$0], d[$0], v[$0]) },
                                windowAnomalous: score > th.window, errorThresholds: th.sensor,
                                dtwThresholds: th.dtw ?? [Float](repeating: 0, count: D))
        }
    }

    /// The thresholds a window is held to: the golden-cycle envelope at the reference rows the
    /// window aligns with, or the global thresholds (no envelope, or no alignment).
    public func thresholds(_ w: PendingWindow) -> (sensor: [Float], window: Float, dtw: [Float]?, variation: [Float]?) {
        let c = model.calibration, D = model.model.sensors
        if let e = c.envelope, let rows = w.aligned, let ref = model.reference {
            let t = e.thresholds(rows, length: ref.length, sensors: D)
            return (t.sensor, t.window, t.dtw.isEmpty ? ref.dtwThreshold : t.dtw, t.variation.isEmpty ? nil : t.variation)
        }
        return (c.sensorThreshold, c.windowThreshold, model.reference?.dtwThreshold, nil)
    }
}
