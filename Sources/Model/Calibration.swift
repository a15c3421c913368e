/// Thresholds calibrated on normal validation windows (DESIGN.md `/calibration`).
public struct Calibration: Sendable, Equatable {
    /// Per-sensor error threshold `[D]`, scaled units.
    public var sensorThreshold: [Float]
    /// Window-score threshold.
    public var windowThreshold: Float
    /// The percentile of validation errors the thresholds sit at (e.g. 99).
    public var percentile: Double
    /// How the thresholds were found, in words.
    public var method: String
    /// Position-dependent thresholds along the reference cycle (`/calibration/envelope`), when
    /// the model has a reference cycle; the global thresholds above apply where it is absent.
    public var envelope: ThresholdEnvelope?
    /// What the calibration measured on held-out normal cycles (absent in older files).
    public var expected: ExpectedFalseAlarms?

    public init(sensorThreshold: [Float], windowThreshold: Float, percentile: Double, method: String,
                envelope: ThresholdEnvelope? = nil, expected: ExpectedFalseAlarms? = nil) {
        self.sensorThreshold = sensorThreshold
        self.windowThreshold = windowThreshold
        self.percentile = percentile
        self.method = method
        self.envelope = envelope
        self.expected = expected
    }
}

/// The "golden cycle" envelope: thresholds for the reconstruction error, the window score and
/// the live DTW deviation that depend on where in the cycle a window lies. The reference cycle
/// is cut into `bins` equal stretches; a window whose rows align (live DTW) with reference rows
/// `a…b` is held to the largest threshold of the bins those rows fall in.
public struct ThresholdEnvelope: Sendable, Equatable {
    /// Number of stretches B.
    public var bins: Int
    /// `[B, D]` per-sensor reconstruction-error thresholds.
    public var sensorThreshold: [Float]
    /// `[B]` window-score thresholds.
    public var windowThreshold: [Float]
    /// `[B, D]` per-sensor live-DTW-deviation thresholds (empty without DTW).
    public var dtwThreshold: [Float]
    /// `[B, D]` per-sensor least variation of a window (mean absolute change from row to row,
    /// scaled units): a sensor that moves less than this where it normally moves is stuck.
    /// 0 where the sensor may be still; empty in files without it.
    public var variationFloor: [Float]

    public init(bins: Int, sensorThreshold: [Float], windowThreshold: [Float], dtwThreshold: [Float], variationFloor: [Float] = []) {
        self.bins = bins
        self.sensorThreshold = sensorThreshold
        self.windowThreshold = windowThreshold
        self.dtwThreshold = dtwThreshold
        self.variationFloor = variationFloor
    }

    /// The bin of reference row `row` of a reference of `length` rows.
    @inline(__always) public func bin(_ row: Int, length: Int) -> Int {
        guard length > 0 else { return 0 }
        return Swift.min(bins - 1, Swift.max(0, row * bins / length))
    }

    /// The bins reference rows `rows` fall in.
    public func bins(_ rows: ClosedRange<Int>, length: Int) -> ClosedRange<Int> {
        bin(rows.lowerBound, length: length)...bin(rows.upperBound, length: length)
    }

    /// Thresholds of a window aligned with reference rows `rows`: the largest of those bins,
    /// per sensor, for the error (`sensor`), the window score (`window`) and the DTW deviation,
    /// and the smallest variation floor.
    public func thresholds(_ rows: ClosedRange<Int>, length: Int, sensors D: Int)
        -> (sensor: [Float], window: Float, dtw: [Float], variation: [Float])
    {
        let r = bins(rows, length: length)
        var sensor = [Float](repeating: 0, count: D), dtw = [Float](repeating: 0, count: dtwThreshold.isEmpty ? 0 : D)
        var variation = [Float](repeating: .greatestFiniteMagnitude, count: variationFloor.isEmpty ? 0 : D)
        var window: Float = 0
        for b in r {
            window = Swift.max(window, windowThreshold[b])
            for j in 0..<D {
                sensor[j] = Swift.max(sensor[j], sensorThreshold[b * D + j])
                if !dtw.isEmpty { dtw[j] = Swift.max(dtw[j], dtwThreshold[b * D + j]) }
                if !variation.isEmpty { variation[j] = Swift.min(variation[j], variationFloor[b * D + j]) }
            }
        }
        return (sensor, window, dtw, variation)
    }

    /// The stillness ratio's ceiling (a sensor that does not move at all): large enough to be
    /// critical under any calibrated factor, small enough to read.
    public static let maxStillRatio: Float = 1_000

    /// The stillness ratio of a window that moved `moved` where the floor is `floor`: above 1
    /// when it moved less, at most ``maxStillRatio``; 0 where the floor is 0 (no check).
    @inline(__always) public static func stillRatio(floor: Float, moved: Float) -> Float {
        floor > 0 ? floor / Swift.max(moved, floor / maxStillRatio) : 0
    }

    /// Mean absolute change from row to row of each sensor over a `[T, D]` window.
    public static func variation(_ window: UnsafeBufferPointer<Float>, rows T: Int, sensors D: Int) -> [Float] {
        var out = [Float](repeating: 0, count: D)
        guard T > 1 else { return out }
        for t in 1..<T { for j in 0..<D { out[j] += abs(window[t * D + j] - window[(t - 1) * D + j]) } }
        for j in 0..<D { out[j] /= Float(T - 1) }
        return out
    }
}

/// False alarms the calibration expects on new normal cycles, and how that was measured.
public struct ExpectedFalseAlarms: Sendable, Equatable {
    /// Maintenance events per 100 normal cycles (live pipeline with its state machines).
    public var eventsPer100Cycles: Double
    /// Cycles per 100 whose post-cycle report would say warning or critical (shape and length).
    public var reportsPer100Cycles: Double
    /// Share of rows (windows) with a sensor score above 1.
    public var rowRate: Double
    /// Held-out normal cycles the figures come from, and the folds over them.
    public var cycles: Int
    public var folds: Int

    public init(eventsPer100Cycles: Double, reportsPer100Cycles: Double, rowRate: Double, cycles: Int, folds: Int) {
        self.eventsPer100Cycles = eventsPer100Cycles
        self.reportsPer100Cycles = reportsPer100Cycles
        self.rowRate = rowRate
        self.cycles = cycles
        self.folds = folds
    }
}

/// A reference cycle in raw units with its per-sensor DTW-deviation thresholds (`/reference`).
public struct ReferenceCycle: Sendable, Equatable {
    /// Rows of the cycle, `[L, D]` row-major, raw units.
    public var values: [Float]
    /// Number of rows, L.
    public var length: Int
    /// Per-sensor DTW deviation threshold `[D]`.
    public var dtwThreshold: [Float]
    /// Band half-width (rows) of the live open-end DTW the thresholds were calibrated with;
    /// stored as the `band` attribute of `/reference/dtw_threshold`.
    public var band: Int
    /// Cycle-level thresholds of the post-cycle report (`/reference/report_threshold`): per
    /// sensor the mean squared DTW deviation of a whole cycle from the reference, calibrated on
    /// normal cycles; absent in older files (the report then uses `dtwThreshold`).
    public var reportThreshold: [Float]?
    /// Lengths (rows) of normal cycles: a cycle outside `lengthRange` is itself evidence
    /// (`/reference/length_range`, `[low, high]`); absent in older files.
    public var lengthRange: ClosedRange<Int>?
    /// The least share of the reference a normal cycle's end aligns with (live DTW's position at
    /// its last row, `/reference` attribute `completion_low`): a cycle that stops before its last
    /// phase ends further back. Absent in older files.
    public var completionLow: Double?

    public init(values: [Float], length: Int, dtwThreshold: [Float], band: Int,
                reportThreshold: [Float]? = nil, lengthRange: ClosedRange<Int>? = nil, completionLow: Double? = nil) {
        self.values = values
        self.length = length
        self.dtwThreshold = dtwThreshold
        self.band = band
        self.reportThreshold = reportThreshold
        self.lengthRange = lengthRange
        self.completionLow = completionLow
    }
}

/// What training did (`/training`).
public struct TrainingSummary: Sendable, Equatable {
    /// Training loss per epoch.
    public var loss: [Float]
    /// Validation loss per epoch.
    public var validationLoss: [Float]
    /// Training windows.
    public var windows: Int
    /// Training cycles.
    public var cycles: Int
    /// Epochs run.
    public var epochs: Int
    /// Wall-clock training time.
    public var seconds: Double
    /// SHA-256 of the training data, hex.
    public var dataSHA256: String

    public init(loss: [Float] = [], validationLoss: [Float] = [], windows: Int = 0, cycles: Int = 0,
                epochs: Int = 0, seconds: Double = 0, dataSHA256: String = "") {
        self.loss = loss
        self.validationLoss = validationLoss
        self.windows = windows
        self.cycles = cycles
        self.epochs = epochs
        self.seconds = seconds
        self.dataSHA256 = dataSHA256
    }
}
