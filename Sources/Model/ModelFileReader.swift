import CHDF5

/// Reads and verifies one open model file (callers hold ``hdf5Lock``).
///
/// Every size the file declares is checked against ``ModelFileLimits`` before anything of that
/// size is allocated: the architecture before the layout is computed, each dataset's shape
/// before its values are read, and a budget of ``ModelFileLimits/maxValues`` values over the
/// whole file. What was read is then checked as a whole by ``ModelFile/validate(path:)``.
final class ModelFileReader {
    let file: HDF5File
    var path: String { file.path }
    /// Float values still allowed.
    private var budget = ModelFileLimits.maxValues

    init(file: HDF5File) { self.file = file }

    func fail(_ kind: ModelFileError.Kind) -> ModelFileError { ModelFileError(kind, path: path) }

    func read() throws -> ModelFile {
        let format = try string("/", "format")
        guard format == ModelFile.formatName else { throw fail(.notVerTac(found: "\"\(format)\"")) }
        let version = try int("/", "format_version")
        guard version == ModelFile.formatVersion else { throw fail(.unsupportedVersion(version)) }
        let window = try int("/", "window"), hidden = try int("/", "hidden_size")
        let layers = try int("/", "num_layers")
        guard layers == 1 else { throw fail(.invalid("attribute num_layers", reason: "only 1 is supported, found \(layers)")) }
        let lossName = try string("/", "loss")
        guard let loss = Loss(rawValue: lossName) else {
            throw fail(.invalid("attribute loss", reason: "expected mae or mse, found \"\(lossName)\""))
        }
        let createdAt = try string("/", "created_at"), trainerVersion = try string("/", "trainer_version")

        // The sensor count is bounded before the names are read, the architecture before the layout.
        let sensors = try strings("sensors", maxCount: ModelFileLimits.maxSensors)
        let D = sensors.count
        try ModelFileLimits.checkArchitecture(window: window, sensors: D, hidden: hidden, path: path)
        let layout = ParameterLayout(sensors: D, hidden: hidden)
        var parameters: [Float] = []
        parameters.reserveCapacity(layout.count)
        for e in layout.entries { parameters += try floats(e.name, shape: e.shape) }
        let model = try LSTMAutoencoder(window: window, sensors: D, hidden: hidden, parameters: parameters)
        let scaler = try MinMaxScaler(min: floats("scaler/min", shape: [D]), max: floats("scaler/max", shape: [D]))
        var calibration = Calibration(
            sensorThreshold: try floats("calibration/sensor_threshold", shape: [D]),
            windowThreshold: try floats("calibration/window_threshold", shape: [1])[0],
            percentile: try double("calibration/window_threshold", "percentile"),
            method: try string("calibration/window_threshold", "method"))
        // The envelope, the expected false alarms, the report thresholds and the length range
        // came after format_version 1 was first written: each is optional.
        if file.link("calibration/envelope") != .missing {
            let (shape, sensorThreshold) = try floatsAnyLength("calibration/envelope/sensor_threshold", rank: 2) { shape in
                guard shape[1] == D, (1...ModelFileLimits.maxEnvelopeBins).contains(shape[0]) else {
                    throw fail(.invalid("/calibration/envelope/sensor_threshold",
                                        reason: "shape \(shape), expected [1…\(ModelFileLimits.maxEnvelopeBins), \(D)]"))
                }
            }
            let B = shape[0]
            let dtw = file.link("calibration/envelope/dtw_threshold") == .missing ? []
                : try floats("calibration/envelope/dtw_threshold", shape: [B, D])
            let variation = file.link("calibration/envelope/variation_floor") == .missing ? []
                : try floats("calibration/envelope/variation_floor", shape: [B, D])
            calibration.envelope = ThresholdEnvelope(bins: B, sensorThreshold: sensorThreshold,
                                                     windowThreshold: try floats("calibration/envelope/window_threshold", shape: [B]),
                                                     dtwThreshold: dtw, variationFloor: variation)
        }
        if file.attribute("calibration", "false_events_per_100_cycles") != nil {
            calibration.expected = ExpectedFalseAlarms(
                eventsPer100Cycles: try double("calibration", "false_events_per_100_cycles"),
                reportsPer100Cycles: try double("calibration", "false_reports_per_100_cycles"),
                rowRate: try double("calibration", "row_flag_rate"),
                cycles: try int("calibration", "calibration_cycles"), folds: try int("calibration", "calibration_folds"))
        }

        var reference: ReferenceCycle?
        if file.link("reference") != .missing {
            let (shape, values) = try floatsAnyLength("reference/cycle", rank: 2) { shape in
                guard shape[1] == D else { throw fail(.shape("/reference/cycle", expected: [shape[0], D], found: shape)) }
                guard (1...ModelFileLimits.maxReferenceLength).contains(shape[0]) else {
                    throw fail(.invalid("/reference/cycle", reason: "\(shape[0]) rows, expected 1…\(ModelFileLimits.maxReferenceLength)"))
                }
                guard let n = ModelFileLimits.count(shape), n <= ModelFileLimits.maxReferenceValues else {
                    throw fail(.invalid("/reference/cycle", reason: "shape \(shape) holds more than \(ModelFileLimits.maxReferenceValues) values"))
                }
            }
            // The band attribute came after format_version 1 was first written: without it, the
            // default live band (a tenth of the reference, at least 10 rows) applies.
            let band = file.attribute("reference/dtw_threshold", "band") == nil
                ? max(10, shape[0] / 10) : try int("reference/dtw_threshold", "band")
            reference = ReferenceCycle(values: values, length: shape[0],
                                       dtwThreshold: try floats("reference/dtw_threshold", shape: [D]), band: band)
            if file.link("reference/report_threshold") != .missing {
                reference?.reportThreshold = try floats("reference/report_threshold", shape: [D])
            }
            if file.attribute("reference", "length_low") != nil {
                let low = try int("reference", "length_low"), high = try int("reference", "length_high")
                guard 0 <= low, low <= high, high <= ModelFileLimits.maxCycleRows else {
                    throw fail(.invalid("attributes length_low, length_high of /reference",
                                        reason: "must satisfy 0 ≤ low ≤ high ≤ \(ModelFileLimits.maxCycleRows), found \(low), \(high)"))
                }
                reference?.lengthRange = low...high
            }
            if file.attribute("reference", "completion_low") != nil {
                reference?.completionLow = try double("reference", "completion_low")
            }
        }
        let path = self.path
        func epochs(_ name: String) -> ([Int]) throws -> Void {
            { shape in
                guard shape[0] <= ModelFileLimits.maxEpochs else {
                    throw ModelFileError(.invalid(name, reason: "\(shape[0]) epochs, at most \(ModelFileLimits.maxEpochs)"), path: path)
                }
            }
        }
        let loss1 = try floatsAnyLength("training/loss", rank: 1, check: epochs("/training/loss")).1
        let loss2 = try floatsAnyLength("training/val_loss", rank: 1, check: epochs("/training/val_loss")).1
        let training = TrainingSummary(
            loss: loss1, validationLoss: loss2,
            windows: try int("training", "windows"), cycles: try int("training", "cycles"),
            epochs: try int("training", "epochs"), seconds: try double("training", "seconds"),
            dataSHA256: try string("training", "data_sha256"))
        let result = ModelFile(model: model, sensors: sensors, scaler: scaler, loss: loss, calibration: calibration,
                               reference: reference, training: training, createdAt: createdAt, trainerVersion: trainerVersion)
        try result.validate(path: path)
        return result
    }

    private func display(_ name: String) -> String { name.hasPrefix("/") ? name : "/" + name }

    private func dataset(_ name: String) throws -> HDF5Dataset {
        switch file.link(name) {
        case .missing: throw fail(.missing("dataset \(display(name))"))
        case .other(let type): throw fail(.invalid(display(name), reason: "is a soft or external link (type \(type)); only hard links are read"))
        case .hard: break
        }
        do { return try file.dataset(name) } catch { throw fail(.invalid(display(name), reason: "unreadable (\(error))")) }
    }

    /// A float dataset of exactly `shape`.
    private func floats(_ name: String, shape: [Int]) throws -> [Float] {
        try floatsAnyLength(name, rank: shape.count) { found in
            guard found == shape else { throw fail(.shape(display(name), expected: shape, found: found)) }
        }.1
    }

    /// A float dataset of rank `rank` whose shape passes `check`, read within the value budget.
    private func floatsAnyLength(_ name: String, rank: Int, check: ([Int]) throws -> Void = { _ in }) throws -> ([Int], [Float]) {
        let d = try dataset(name)
        guard d.typeClass == H5T_FLOAT else {
            throw fail(.type(display(name), expected: "float32", found: d.typeClass == H5T_STRING ? "strings" : "another type"))
        }
        guard d.shape.count == rank else { throw fail(.invalid(display(name), reason: "rank \(d.shape.count), expected \(rank)")) }
        guard d.shape.allSatisfy({ $0 >= 0 }), let n = d.count else {
            throw fail(.invalid(display(name), reason: "shape \(d.shape) is too large"))
        }
        try check(d.shape)
        guard n <= budget else {
            throw fail(.invalid(display(name), reason: "\(n) values would take the file over \(ModelFileLimits.maxValues) values in all"))
        }
        budget -= n
        do { return (d.shape, try d.readFloats()) } catch { throw fail(.invalid(display(name), reason: "unreadable (\(error))")) }
    }

    private func strings(_ name: String, maxCount: Int) throws -> [String] {
        let d = try dataset(name)
        guard d.typeClass == H5T_STRING else {
            throw fail(.type(display(name), expected: "UTF-8 strings", found: d.typeClass == H5T_FLOAT ? "floats" : "another type"))
        }
        guard d.shape.count == 1 else { throw fail(.type(display(name), expected: "UTF-8 strings", found: "string array of rank \(d.shape.count)")) }
        guard let n = d.count, n <= maxCount else {
            throw fail(.invalid(display(name), reason: "must hold 1…\(maxCount) names, found \(d.shape[0])"))
        }
        let strings: [String]?
        do { strings = try d.readStrings(maxBytes: ModelFileLimits.maxNameBytes) } catch {
            throw fail(.invalid(display(name), reason: "unreadable (\(error))"))
        }
        guard let strings else { throw fail(.invalid(display(name), reason: "a name is longer than \(ModelFileLimits.maxNameBytes) bytes")) }
        return strings
    }

    private func attribute(_ object: String, _ name: String) throws -> HDF5File.Attribute {
        guard let a = file.attribute(object, name) else {
            throw fail(.missing("attribute \(name) of \(display(object))"))
        }
        return a
    }

    private func string(_ object: String, _ name: String) throws -> String {
        guard case .string(let s) = try attribute(object, name) else {
            throw fail(.type("attribute \(name) of \(display(object))", expected: "a string of at most \(ModelFileLimits.maxStringBytes) bytes",
                             found: "another type"))
        }
        return s
    }

    private func int(_ object: String, _ name: String) throws -> Int {
        guard case .int(let v) = try attribute(object, name) else {
            throw fail(.type("attribute \(name) of \(display(object))", expected: "integer", found: "another type"))
        }
        return v
    }

    private func double(_ object: String, _ name: String) throws -> Double {
        switch try attribute(object, name) {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: throw fail(.type("attribute \(name) of \(display(object))", expected: "number", found: "another type"))
        }
    }
}
