/// Reads and verifies one open model file (callers hold ``hdf5Lock``).
struct ModelFileReader {
    let file: HDF5File
    var path: String { file.path }

    func fail(_ kind: ModelFileError.Kind) -> ModelFileError { ModelFileError(kind, path: path) }

    func read() throws -> ModelFile {
        let format = try string("/", "format")
        guard format == ModelFile.formatName else { throw fail(.notVerTac(found: "\"\(format)\"")) }
        let version = try int("/", "format_version")
        guard version == ModelFile.formatVersion else { throw fail(.unsupportedVersion(version)) }
        let window = try int("/", "window"), hidden = try int("/", "hidden_size")
        let layers = try int("/", "num_layers")
        guard window > 0 else { throw fail(.invalid("attribute window", reason: "must be positive, found \(window)")) }
        guard hidden > 0 else { throw fail(.invalid("attribute hidden_size", reason: "must be positive, found \(hidden)")) }
        guard layers == 1 else { throw fail(.invalid("attribute num_layers", reason: "only 1 is supported, found \(layers)")) }
        let lossName = try string("/", "loss")
        guard let loss = Loss(rawValue: lossName) else {
            throw fail(.invalid("attribute loss", reason: "expected mae or mse, found \"\(lossName)\""))
        }
        let createdAt = try string("/", "created_at"), trainerVersion = try string("/", "trainer_version")

        let sensors = try strings("sensors")
        let D = sensors.count
        guard D > 0 else { throw fail(.invalid("/sensors", reason: "no sensors")) }
        var model = LSTMAutoencoder(window: window, sensors: D, hidden: hidden)
        for e in model.layout.entries {
            let values = try floats(e.name, shape: e.shape)
            model.parameters.replaceSubrange(e.offset..<e.offset + e.count, with: values)
        }
        let scaler = try MinMaxScaler(min: floats("scaler/min", shape: [D]), max: floats("scaler/max", shape: [D]))
        let calibration = Calibration(
            sensorThreshold: try floats("calibration/sensor_threshold", shape: [D]),
            windowThreshold: try floats("calibration/window_threshold", shape: [1])[0],
            percentile: try double("calibration/window_threshold", "percentile"),
            method: try string("calibration/window_threshold", "method"))

        var reference: ReferenceCycle?
        if file.exists("reference") || file.exists("reference/cycle") {
            let (shape, values) = try floatsAnyLength("reference/cycle", rank: 2)
            guard shape[1] == D else { throw fail(.shape("/reference/cycle", expected: [shape[0], D], found: shape)) }
            // The band attribute came after format_version 1 was first written: without it, the
            // default live band (a tenth of the reference, at least 10 rows) applies.
            let band = (try? int("reference/dtw_threshold", "band")) ?? max(10, shape[0] / 10)
            guard band > 0 else { throw fail(.invalid("attribute band of /reference/dtw_threshold", reason: "must be positive")) }
            reference = ReferenceCycle(values: values, length: shape[0],
                                       dtwThreshold: try floats("reference/dtw_threshold", shape: [D]), band: band)
        }
        let loss1 = try floatsAnyLength("training/loss", rank: 1).1
        let loss2 = try floatsAnyLength("training/val_loss", rank: 1).1
        let training = TrainingSummary(
            loss: loss1, validationLoss: loss2,
            windows: try int("training", "windows"), cycles: try int("training", "cycles"),
            epochs: try int("training", "epochs"), seconds: try double("training", "seconds"),
            dataSHA256: try string("training", "data_sha256"))
        return ModelFile(model: model, sensors: sensors, scaler: scaler, loss: loss, calibration: calibration,
                         reference: reference, training: training, createdAt: createdAt, trainerVersion: trainerVersion)
    }

    private func display(_ name: String) -> String { name.hasPrefix("/") ? name : "/" + name }

    private func value(_ name: String) throws -> HDF5File.Value {
        guard file.exists(name) else { throw fail(.missing("dataset \(display(name))")) }
        do { return try file.read(name) } catch { throw fail(.invalid(display(name), reason: "unreadable (\(error))")) }
    }

    /// A float dataset of exactly `shape`, every value finite.
    private func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let (found, values) = try floatsAnyLength(name, rank: shape.count)
        guard found == shape else { throw fail(.shape(display(name), expected: shape, found: found)) }
        return values
    }

    private func floatsAnyLength(_ name: String, rank: Int) throws -> ([Int], [Float]) {
        switch try value(name) {
        case let .floats(shape, values):
            guard shape.count == rank else {
                throw fail(.invalid(display(name), reason: "rank \(shape.count), expected \(rank)"))
            }
            if let k = values.firstIndex(where: { !$0.isFinite }) {
                throw fail(.invalid(display(name), reason: "non-finite value at flat index \(k)"))
            }
            return (shape, values)
        case .strings: throw fail(.type(display(name), expected: "float32", found: "strings"))
        case .other(let t): throw fail(.type(display(name), expected: "float32", found: t))
        }
    }

    private func strings(_ name: String) throws -> [String] {
        switch try value(name) {
        case .strings(let s): return s
        case .floats: throw fail(.type(display(name), expected: "UTF-8 strings", found: "floats"))
        case .other(let t): throw fail(.type(display(name), expected: "UTF-8 strings", found: t))
        }
    }

    private func attribute(_ object: String, _ name: String) throws -> HDF5File.Attribute {
        guard let a = file.attribute(object, name) else {
            throw fail(.missing("attribute \(name) of \(display(object))"))
        }
        return a
    }

    private func string(_ object: String, _ name: String) throws -> String {
        guard case .string(let s) = try attribute(object, name) else {
            throw fail(.type("attribute \(name) of \(display(object))", expected: "string", found: "another type"))
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
