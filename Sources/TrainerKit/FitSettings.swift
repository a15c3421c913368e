import Model

/// Everything `vertac-train fit` can be told.
public struct FitSettings: Sendable, Equatable {
    public var window = 30
    public var hidden = 64
    public var epochs = 50
    public var batch = 32
    /// Most training windows per epoch: with more, every epoch draws a fresh random subset (so a
    /// million-row data set trains in minutes, and every window is still seen over the epochs).
    public var maxWindowsPerEpoch = 60_000
    /// Most validation windows the per-epoch validation loss is measured on (evenly spaced over
    /// the held-out cycles, the same ones every epoch).
    public var maxValidationWindows = 20_000
    public var learningRate: Float = 1e-3
    public var loss: Loss = .mae
    /// Share of the data held out for validation: whole cycles where there are several,
    /// otherwise the last part of the single cycle.
    public var validationFraction = 0.1
    /// Epochs without a better validation loss before stopping; the best weights are kept.
    public var patience = 5
    /// Percentile of validation errors the thresholds sit at.
    public var percentile = 99.0
    /// Thresholds are this many times the percentile. Windows of one cycle are strongly
    /// correlated, so a percentile over windows says little about the next cycle's tail; 1.5 is
    /// the margin of the SKAB LSTM-AE baseline.
    public var margin: Float = 1.5
    public var seed: UInt64 = 0
    public var stride = 1
    public var threads = 1
    /// Global gradient-norm clipping limit.
    public var clipNorm: Float = 1.0
    /// Band half-width of the live DTW (rows); nil: a fifth of the reference length, at least 10.
    public var dtwBand: Int?
    /// At most this many training cycles enter the reference medoid (evenly spaced).
    public var maxMedoidCycles = 50
    /// Calibration with a reference cycle (``Calibrator``): maintenance events per normal cycle
    /// the thresholds aim at (0.01: at most 1 false event per 100 normal cycles).
    public var falseEventRate = 0.01
    /// Post-cycle reports per normal cycle that may say warning or worse.
    public var reportRate = 0.005
    /// Share of held-out windows that may have a sensor score above 1.
    public var rowFlagRate = 0.002
    /// Folds over normal cycles.
    public var folds = 5
    /// At most this many normal cycles are replayed for calibration (evenly spaced; enough for
    /// empirical tail bounds at the default rates).
    public var maxCalibrationCycles = 5_000
    /// Bins of the golden-cycle envelope along the reference cycle (at most its length).
    public var envelopeBins = 100
    /// Quantile of each bin's values that gives the envelope its shape.
    public var envelopeQuantile = 0.95

    public init() {}
}

/// Progress of training, reported after every batch.
public struct FitProgress: Sendable {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    /// Training windows per second over the epoch so far.
    public var windowsPerSecond: Double
    /// Mean training loss over the epoch so far.
    public var loss: Double
    /// Validation loss, once the epoch is done.
    public var validationLoss: Double?
    /// Estimated seconds left (at this epoch's rate, for all remaining epochs).
    public var eta: Double
    /// Whether this is the report at the end of an epoch.
    public var epochDone: Bool
}

/// Why fitting could not start.
public struct FitError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// What fitting produced.
public struct FitResult: Sendable {
    public var file: ModelFile
    public var trainingCycles: Int, validationCycles: Int
    public var trainingWindows: Int, validationWindows: Int
    /// Epoch (1-based) whose weights were kept.
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    /// Source of the reference cycle, when there is one.
    public var referenceSource: String?
    /// Seconds spent: training, calibration, reference.
    public var trainSeconds: Double, calibrationSeconds: Double, referenceSeconds: Double
    /// What the calibration measured, in one line (with a reference cycle).
    public var calibrationSummary: String?
}
