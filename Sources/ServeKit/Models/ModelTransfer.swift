import Foundation
import Model

/// How the `model-check` child hands a model it read to the server: one JSON document that names
/// every part as the model file does, float arrays as base64 of little-endian float32 with their
/// shape. The server decodes it with Foundation's JSON decoder — never with the HDF5 library —
/// and checks it as if it came from a stranger: shapes against the architecture before any
/// array is converted, then ``ModelFile/validate(path:)``.
enum ModelTransfer {
    static let format = "vertac-model-check/1"

    /// The document: either a model or why the file was refused.
    struct Envelope: Codable {
        var format: String
        var model: Body?
        var rejected: String?
    }

    struct Body: Codable {
        var window: Int
        var hiddenSize: Int
        var loss: String
        var createdAt: String
        var trainerVersion: String
        var sensors: [String]
        var percentile: Double
        var method: String
        var band: Int?
        var windows: Int
        var cycles: Int
        var epochs: Int
        var seconds: Double
        var dataSHA256: String
        /// `/calibration` attributes: expected false alarms (absent in older files).
        var expected: Expected?
        /// `/reference` attributes: the normal length range (absent in older files).
        var lengthLow: Int?
        var lengthHigh: Int?
        var completionLow: Double?
        /// By dataset path (`encoder/weight_ih_l0`, `scaler/min`, …).
        var arrays: [String: FloatArray]
    }

    struct Expected: Codable {
        var eventsPer100Cycles: Double
        var reportsPer100Cycles: Double
        var rowRate: Double
        var cycles: Int
        var folds: Int
    }

    struct FloatArray: Codable {
        var shape: [Int]
        /// Little-endian float32, base64 in JSON.
        var data: Data

        init(shape: [Int], _ values: [Float]) {
            self.shape = shape
            var bytes = Data(capacity: values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            data = bytes
        }
    }

    static func encode(_ f: ModelFile) throws -> Data {
        let m = f.model, D = m.sensors
        var arrays: [String: FloatArray] = [:]
        for e in m.layout.entries { arrays[e.name] = FloatArray(shape: e.shape, Array(m.parameters[e.offset..<e.offset + e.count])) }
        arrays["scaler/min"] = FloatArray(shape: [D], f.scaler.min)
        arrays["scaler/max"] = FloatArray(shape: [D], f.scaler.max)
        arrays["calibration/sensor_threshold"] = FloatArray(shape: [D], f.calibration.sensorThreshold)
        arrays["calibration/window_threshold"] = FloatArray(shape: [1], [f.calibration.windowThreshold])
        if let r = f.reference {
            arrays["reference/cycle"] = FloatArray(shape: [r.length, D], r.values)
            arrays["reference/dtw_threshold"] = FloatArray(shape: [D], r.dtwThreshold)
            if let t = r.reportThreshold { arrays["reference/report_threshold"] = FloatArray(shape: [D], t) }
        }
        if let e = f.calibration.envelope {
            arrays["calibration/envelope/sensor_threshold"] = FloatArray(shape: [e.bins, D], e.sensorThreshold)
            arrays["calibration/envelope/window_threshold"] = FloatArray(shape: [e.bins], e.windowThreshold)
            if !e.dtwThreshold.isEmpty { arrays["calibration/envelope/dtw_threshold"] = FloatArray(shape: [e.bins, D], e.dtwThreshold) }
            if !e.variationFloor.isEmpty { arrays["calibration/envelope/variation_floor"] = FloatArray(shape: [e.bins, D], e.variationFloor) }
        }
        arrays["training/loss"] = FloatArray(shape: [f.training.loss.count], f.training.loss)
        arrays["training/val_loss"] = FloatArray(shape: [f.training.validationLoss.count], f.training.validationLoss)
        let t = f.training
        let body = Body(window: m.window, hiddenSize: m.hidden, loss: f.loss.rawValue, createdAt: f.createdAt, trainerVersion: f.trainerVersion,
                        sensors: f.sensors, percentile: f.calibration.percentile, method: f.calibration.method, band: f.reference?.band,
                        windows: t.windows, cycles: t.cycles, epochs: t.epochs, seconds: t.seconds, dataSHA256: t.dataSHA256,
                        expected: f.calibration.expected.map {
                            Expected(eventsPer100Cycles: $0.eventsPer100Cycles, reportsPer100Cycles: $0.reportsPer100Cycles,
                                     rowRate: $0.rowRate, cycles: $0.cycles, folds: $0.folds)
                        },
                        lengthLow: f.reference?.lengthRange?.lowerBound, lengthHigh: f.reference?.lengthRange?.upperBound,
                        completionLow: f.reference?.completionLow, arrays: arrays)
        return try JSONEncoder().encode(Envelope(format: format, model: body))
    }

    static func encode(rejected reason: String) throws -> Data {
        try JSONEncoder().encode(Envelope(format: format, rejected: reason))
    }

    /// The envelope's verdict: a checked model, or the reason the child gave.
    enum Verdict {
        case model(ModelFile)
        case rejected(String)
    }

    /// Decodes and checks what the child wrote.
    ///
    /// - Parameter path: the name used in errors.
    /// - Throws: ``ModelFileError`` when the document is malformed, inconsistent, or the model
    ///   fails ``ModelFile/validate(path:)``.
    static func decode(_ data: Data, path: String) throws -> Verdict {
        func fail(_ name: String, _ reason: String) -> ModelFileError { .invalid(name, reason, path: path) }
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: data) } catch {
            throw fail("model reader output", "not a model document (\(error))")
        }
        guard envelope.format == format else { throw fail("model reader output", "format \"\(envelope.format)\", expected \"\(format)\"") }
        switch (envelope.model, envelope.rejected) {
        case (nil, let reason?): return .rejected(reason)
        case (let b?, nil): return .model(try model(b, path: path))
        default: throw fail("model reader output", "holds neither exactly one model nor a reason")
        }
    }

    private static func model(_ b: Body, path: String) throws -> ModelFile {
        func fail(_ name: String, _ reason: String) -> ModelFileError { .invalid(name, reason, path: path) }
        let D = b.sensors.count
        try ModelFileLimits.checkArchitecture(window: b.window, sensors: D, hidden: b.hiddenSize, path: path)
        func floats(_ name: String, shape expected: [Int]? = nil, rank: Int? = nil) throws -> (shape: [Int], values: [Float]) {
            guard let a = b.arrays[name] else { throw ModelFileError.invalid("/" + name, "missing", path: path) }
            if let expected, a.shape != expected { throw fail("/" + name, "shape \(a.shape), expected \(expected)") }
            if let rank, a.shape.count != rank { throw fail("/" + name, "rank \(a.shape.count), expected \(rank)") }
            guard let n = ModelFileLimits.count(a.shape), n <= ModelFileLimits.maxValues, a.data.count == n * 4 else {
                throw fail("/" + name, "\(a.data.count) bytes for shape \(a.shape)")
            }
            let values = a.data.withUnsafeBytes { raw in
                (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            return (a.shape, values)
        }
        let layout = ParameterLayout(sensors: D, hidden: b.hiddenSize)
        var parameters: [Float] = []
        parameters.reserveCapacity(layout.count)
        for e in layout.entries { parameters += try floats(e.name, shape: e.shape).values }
        let autoencoder = try LSTMAutoencoder(window: b.window, sensors: D, hidden: b.hiddenSize, parameters: parameters)
        guard let loss = Loss(rawValue: b.loss) else { throw fail("attribute loss", "expected mae or mse, found \"\(b.loss)\"") }
        let scaler = try MinMaxScaler(min: floats("scaler/min", shape: [D]).values, max: floats("scaler/max", shape: [D]).values)
        var calibration = Calibration(sensorThreshold: try floats("calibration/sensor_threshold", shape: [D]).values,
                                      windowThreshold: try floats("calibration/window_threshold", shape: [1]).values[0],
                                      percentile: b.percentile, method: b.method)
        if b.arrays["calibration/envelope/sensor_threshold"] != nil {
            let sensor = try floats("calibration/envelope/sensor_threshold", rank: 2)
            let B = sensor.shape[0]
            guard sensor.shape[1] == D, (1...ModelFileLimits.maxEnvelopeBins).contains(B) else {
                throw fail("/calibration/envelope/sensor_threshold", "shape \(sensor.shape), expected [1…\(ModelFileLimits.maxEnvelopeBins), \(D)]")
            }
            let dtw = b.arrays["calibration/envelope/dtw_threshold"] == nil ? [] : try floats("calibration/envelope/dtw_threshold", shape: [B, D]).values
            let variation = b.arrays["calibration/envelope/variation_floor"] == nil ? []
                : try floats("calibration/envelope/variation_floor", shape: [B, D]).values
            calibration.envelope = ThresholdEnvelope(bins: B, sensorThreshold: sensor.values,
                                                     windowThreshold: try floats("calibration/envelope/window_threshold", shape: [B]).values,
                                                     dtwThreshold: dtw, variationFloor: variation)
        }
        if let x = b.expected {
            calibration.expected = ExpectedFalseAlarms(eventsPer100Cycles: x.eventsPer100Cycles, reportsPer100Cycles: x.reportsPer100Cycles,
                                                       rowRate: x.rowRate, cycles: x.cycles, folds: x.folds)
        }
        var reference: ReferenceCycle?
        if b.arrays["reference/cycle"] != nil || b.band != nil {
            let cycle = try floats("reference/cycle", rank: 2)
            guard cycle.shape[1] == D else { throw fail("/reference/cycle", "shape \(cycle.shape), expected [\(cycle.shape[0]), \(D)]") }
            guard let band = b.band else { throw fail("attribute band of /reference/dtw_threshold", "missing") }
            reference = ReferenceCycle(values: cycle.values, length: cycle.shape[0],
                                       dtwThreshold: try floats("reference/dtw_threshold", shape: [D]).values, band: band)
            if b.arrays["reference/report_threshold"] != nil {
                reference?.reportThreshold = try floats("reference/report_threshold", shape: [D]).values
            }
            reference?.completionLow = b.completionLow
            switch (b.lengthLow, b.lengthHigh) {
            case (nil, nil): break
            case (let low?, let high?) where low >= 0 && low <= high: reference?.lengthRange = low...high
            default: throw fail("attributes length_low, length_high of /reference", "must both be given with 0 ≤ low ≤ high")
            }
        }
        let training = TrainingSummary(loss: try floats("training/loss", rank: 1).values, validationLoss: try floats("training/val_loss", rank: 1).values,
                                       windows: b.windows, cycles: b.cycles, epochs: b.epochs, seconds: b.seconds, dataSHA256: b.dataSHA256)
        let file = ModelFile(model: autoencoder, sensors: b.sensors, scaler: scaler, loss: loss, calibration: calibration,
                             reference: reference, training: training, createdAt: b.createdAt, trainerVersion: b.trainerVersion)
        try file.validate(path: path)
        return file
    }
}
