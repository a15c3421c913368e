import CHDF5
import Foundation

/// Everything needed to score, stored in one HDF5 file (DESIGN.md "Model file", version 1):
/// architecture, sensor names, scaler, parameters, calibration, optional reference cycle and
/// the training summary.
public struct ModelFile: Sendable, Equatable {
    /// The file format version this build writes and reads.
    public static let formatVersion = 1
    /// The value of the root `format` attribute.
    public static let formatName = "vertac-lstm-ae"

    /// The autoencoder (architecture and parameters).
    public var model: LSTMAutoencoder
    /// Sensor names in column order, `[D]`.
    public var sensors: [String]
    /// Min–max scaler fitted on the training data.
    public var scaler: MinMaxScaler
    /// Training loss.
    public var loss: Loss
    /// Calibrated thresholds.
    public var calibration: Calibration
    /// Reference cycle, when training had at least two cycles.
    public var reference: ReferenceCycle?
    /// Training summary.
    public var training: TrainingSummary
    /// Creation time, ISO 8601.
    public var createdAt: String
    /// Version of the trainer that wrote the file.
    public var trainerVersion: String

    public init(model: LSTMAutoencoder, sensors: [String], scaler: MinMaxScaler, loss: Loss,
                calibration: Calibration, reference: ReferenceCycle? = nil, training: TrainingSummary = .init(),
                createdAt: String, trainerVersion: String) {
        precondition(sensors.count == model.sensors && scaler.sensors == model.sensors, "sensor count mismatch")
        self.model = model
        self.sensors = sensors
        self.scaler = scaler
        self.loss = loss
        self.calibration = calibration
        self.reference = reference
        self.training = training
        self.createdAt = createdAt
        self.trainerVersion = trainerVersion
    }

    /// Writes the file atomically: to a temporary file beside `path`, then renamed over it, so
    /// a failure never leaves a half-written model where a good one was.
    ///
    /// - Throws: ``ModelFileError`` when the file cannot be written.
    public func write(to path: String) throws {
        let tmp = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try hdf5Lock.withLock { try writeUnlocked(tmp) }
        } catch {
            unlink(tmp)
            throw ModelFileError(.io("cannot write model (\(error))"), path: path)
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw ModelFileError(.io("cannot move model into place: \(reason)"), path: path)
        }
    }

    private func writeUnlocked(_ path: String) throws {
        let f = try HDF5File.create(path)
        let D = model.sensors
        try f.setAttribute("/", "format", string: Self.formatName)
        try f.setAttribute("/", "format_version", int: Self.formatVersion)
        try f.setAttribute("/", "window", int: model.window)
        try f.setAttribute("/", "hidden_size", int: model.hidden)
        try f.setAttribute("/", "num_layers", int: 1)
        try f.setAttribute("/", "loss", string: loss.rawValue)
        try f.setAttribute("/", "created_at", string: createdAt)
        try f.setAttribute("/", "trainer_version", string: trainerVersion)
        try f.writeStrings("sensors", sensors)
        for g in ["scaler", "encoder", "decoder", "output", "calibration", "training"] { try f.createGroup(g) }
        try f.writeFloats("scaler/min", shape: [D], scaler.min)
        try f.writeFloats("scaler/max", shape: [D], scaler.max)
        for e in model.layout.entries {
            try f.writeFloats(e.name, shape: e.shape, Array(model.parameters[e.offset..<e.offset + e.count]))
        }
        try f.writeFloats("calibration/sensor_threshold", shape: [D], calibration.sensorThreshold)
        try f.writeFloats("calibration/window_threshold", shape: [1], [calibration.windowThreshold])
        try f.setAttribute("calibration/window_threshold", "percentile", double: calibration.percentile)
        try f.setAttribute("calibration/window_threshold", "method", string: calibration.method)
        if let e = calibration.envelope {
            try f.createGroup("calibration/envelope")
            try f.writeFloats("calibration/envelope/sensor_threshold", shape: [e.bins, D], e.sensorThreshold)
            try f.writeFloats("calibration/envelope/window_threshold", shape: [e.bins], e.windowThreshold)
            if !e.dtwThreshold.isEmpty { try f.writeFloats("calibration/envelope/dtw_threshold", shape: [e.bins, D], e.dtwThreshold) }
            if !e.variationFloor.isEmpty { try f.writeFloats("calibration/envelope/variation_floor", shape: [e.bins, D], e.variationFloor) }
        }
        if let x = calibration.expected {
            try f.setAttribute("calibration", "false_events_per_100_cycles", double: x.eventsPer100Cycles)
            try f.setAttribute("calibration", "false_reports_per_100_cycles", double: x.reportsPer100Cycles)
            try f.setAttribute("calibration", "row_flag_rate", double: x.rowRate)
            try f.setAttribute("calibration", "calibration_cycles", int: x.cycles)
            try f.setAttribute("calibration", "calibration_folds", int: x.folds)
        }
        if let r = reference {
            try f.createGroup("reference")
            try f.writeFloats("reference/cycle", shape: [r.length, D], r.values)
            try f.writeFloats("reference/dtw_threshold", shape: [D], r.dtwThreshold)
            try f.setAttribute("reference/dtw_threshold", "band", int: r.band)
            if let t = r.reportThreshold { try f.writeFloats("reference/report_threshold", shape: [D], t) }
            if let l = r.lengthRange {
                try f.setAttribute("reference", "length_low", int: l.lowerBound)
                try f.setAttribute("reference", "length_high", int: l.upperBound)
            }
            if let c = r.completionLow { try f.setAttribute("reference", "completion_low", double: c) }
        }
        let t = training
        try f.writeFloats("training/loss", shape: [t.loss.count], t.loss)
        try f.writeFloats("training/val_loss", shape: [t.validationLoss.count], t.validationLoss)
        try f.setAttribute("training", "windows", int: t.windows)
        try f.setAttribute("training", "cycles", int: t.cycles)
        try f.setAttribute("training", "epochs", int: t.epochs)
        try f.setAttribute("training", "seconds", double: t.seconds)
        try f.setAttribute("training", "data_sha256", string: t.dataSHA256)
    }

    /// Reads and verifies a model file: every dataset and attribute of the layout, by name,
    /// type and shape, each size within ``ModelFileLimits`` before it is allocated, then the
    /// values as ``validate(path:)`` does.
    ///
    /// The HDF5 library itself is not hardened against hostile files (a corrupt one can crash or
    /// hang it): a server reads untrusted files in a separate, resource-limited process.
    ///
    /// - Throws: ``ModelFileError`` naming what is missing, mismatched (expected vs found) or out
    ///   of bounds, an unknown `format_version`, or a file that is not HDF5.
    public static func read(from path: String) throws -> ModelFile {
        try hdf5Lock.withLock {
            guard let f = HDF5File.open(path) else { throw ModelFileError(.notHDF5, path: path) }
            let reader = ModelFileReader(file: f)
            return try reader.read()
        }
    }
}
