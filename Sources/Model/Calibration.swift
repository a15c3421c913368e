/// Thresholds calibrated on normal validation windows (DESIGN.md `/calibration`).
public struct Calibration: Sendable, Equatable {
    /// Per-sensor error threshold `[D]`, scaled units.
    public var sensorThreshold: [Float]
    /// Window-score threshold.
    public var windowThreshold: Float
    /// The percentile of validation errors the thresholds sit at (e.g. 99).
    public var percentile: Double
    /// How the thresholds were found, e.g. `"percentile"`.
    public var method: String

    public init(sensorThreshold: [Float], windowThreshold: Float, percentile: Double, method: String) {
        self.sensorThreshold = sensorThreshold
        self.windowThreshold = windowThreshold
        self.percentile = percentile
        self.method = method
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

    public init(values: [Float], length: Int, dtwThreshold: [Float], band: Int) {
        self.values = values
        self.length = length
        self.dtwThreshold = dtwThreshold
        self.band = band
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
