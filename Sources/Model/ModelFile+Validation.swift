extension ModelFile {
    /// Checks what scoring relies on, whatever produced the value (the HDF5 reader, a decoder of
    /// another process's output, a test): the architecture within ``ModelFileLimits``; array
    /// lengths that match it; sensor names present, short and distinct; weights finite and at
    /// most ``ModelFileLimits/maxWeightMagnitude`` in magnitude; scaler bounds finite with
    /// min ≤ max (min = max is a constant sensor, scaled with a range of 1); every threshold
    /// finite and positive; the reference cycle and training summary within bounds.
    ///
    /// - Parameter path: the file named in errors.
    /// - Throws: ``ModelFileError`` naming the dataset or attribute and what is wrong with it.
    public func validate(path: String) throws {
        func fail(_ name: String, _ reason: String) -> ModelFileError { ModelFileError(.invalid(name, reason: reason), path: path) }
        let m = model, D = model.sensors
        try ModelFileLimits.checkArchitecture(window: m.window, sensors: D, hidden: m.hidden, path: path)
        guard m.layout == ParameterLayout(sensors: D, hidden: m.hidden), m.parameters.count == m.layout.count else {
            throw fail("parameters", "\(m.parameters.count) values, expected \(ParameterLayout(sensors: D, hidden: m.hidden).count)")
        }

        guard sensors.count == D else { throw fail("/sensors", "\(sensors.count) names for \(D) sensors") }
        var seen = Set<String>()
        for (j, name) in sensors.enumerated() {
            guard !name.isEmpty, name.utf8.count <= ModelFileLimits.maxNameBytes else {
                throw fail("/sensors", "name \(j) must be 1…\(ModelFileLimits.maxNameBytes) bytes, found \(name.utf8.count)")
            }
            guard seen.insert(name).inserted else { throw fail("/sensors", "\"\(name)\" appears twice") }
        }

        for e in m.layout.entries {
            for k in 0..<e.count {
                let w = m.parameters[e.offset + k]
                guard w.isFinite else { throw fail("/" + e.name, "non-finite value at flat index \(k)") }
                guard abs(w) <= ModelFileLimits.maxWeightMagnitude else {
                    throw fail("/" + e.name, "value \(w) at flat index \(k) is beyond ±\(ModelFileLimits.maxWeightMagnitude)")
                }
            }
        }

        guard scaler.min.count == D, scaler.max.count == D else {
            throw fail("/scaler", "\(scaler.min.count) minima and \(scaler.max.count) maxima for \(D) sensors")
        }
        for j in 0..<D {
            let lo = scaler.min[j], hi = scaler.max[j]
            guard lo.isFinite else { throw fail("/scaler/min", "non-finite value at flat index \(j)") }
            guard hi.isFinite else { throw fail("/scaler/max", "non-finite value at flat index \(j)") }
            guard lo <= hi else { throw fail("/scaler", "min \(lo) > max \(hi) for sensor \(j) (\(sensors[j]))") }
            guard (hi - lo).isFinite else { throw fail("/scaler", "range max − min of sensor \(j) (\(sensors[j])) overflows float32") }
        }

        try Self.positive(calibration.sensorThreshold, count: D, "/calibration/sensor_threshold", path: path)
        try Self.positive([calibration.windowThreshold], count: 1, "/calibration/window_threshold", path: path)
        let p = calibration.percentile
        guard p.isFinite, p > 0, p <= 100 else { throw fail("attribute percentile of /calibration/window_threshold", "must be in (0, 100], found \(p)") }
        guard calibration.method.utf8.count <= ModelFileLimits.maxStringBytes else {
            throw fail("attribute method of /calibration/window_threshold", "longer than \(ModelFileLimits.maxStringBytes) bytes")
        }

        var envelopeValues = 0
        if let e = calibration.envelope {
            guard (1...ModelFileLimits.maxEnvelopeBins).contains(e.bins) else {
                throw fail("/calibration/envelope", "\(e.bins) bins, expected 1…\(ModelFileLimits.maxEnvelopeBins)")
            }
            try Self.positive(e.sensorThreshold, count: e.bins * D, "/calibration/envelope/sensor_threshold", path: path)
            try Self.positive(e.windowThreshold, count: e.bins, "/calibration/envelope/window_threshold", path: path)
            if !e.dtwThreshold.isEmpty {
                try Self.positive(e.dtwThreshold, count: e.bins * D, "/calibration/envelope/dtw_threshold", path: path)
            }
            if !e.variationFloor.isEmpty {
                guard e.variationFloor.count == e.bins * D else {
                    throw ModelFileError(.shape("/calibration/envelope/variation_floor", expected: [e.bins, D], found: [e.variationFloor.count]), path: path)
                }
                if let k = e.variationFloor.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
                    throw fail("/calibration/envelope/variation_floor", "value \(e.variationFloor[k]) at flat index \(k) must be finite and ≥ 0")
                }
            }
            envelopeValues = e.sensorThreshold.count + e.windowThreshold.count + e.dtwThreshold.count + e.variationFloor.count
        }
        if let x = calibration.expected {
            for (name, v) in [("false_events_per_100_cycles", x.eventsPer100Cycles), ("false_reports_per_100_cycles", x.reportsPer100Cycles),
                              ("row_flag_rate", x.rowRate)] where !(v.isFinite && v >= 0) {
                throw fail("attribute \(name) of /calibration", "must be finite and ≥ 0, found \(v)")
            }
            guard x.cycles >= 0, x.folds >= 0 else {
                throw fail("attributes calibration_cycles, calibration_folds of /calibration", "must not be negative")
            }
        }

        let t = training
        for (name, curve) in [("/training/loss", t.loss), ("/training/val_loss", t.validationLoss)] {
            guard curve.count <= ModelFileLimits.maxEpochs else { throw fail(name, "\(curve.count) epochs, at most \(ModelFileLimits.maxEpochs)") }
            if let k = curve.firstIndex(where: { !$0.isFinite }) { throw fail(name, "non-finite value at flat index \(k)") }
        }
        var values = m.parameters.count + 3 * D + 1 + training.loss.count + training.validationLoss.count + envelopeValues
        if let r = reference {
            guard (1...ModelFileLimits.maxReferenceLength).contains(r.length) else {
                throw fail("/reference/cycle", "\(r.length) rows, expected 1…\(ModelFileLimits.maxReferenceLength)")
            }
            guard let n = ModelFileLimits.product(r.length, D), n <= ModelFileLimits.maxReferenceValues else {
                throw fail("/reference/cycle", "\(r.length) rows of \(D) sensors hold more than \(ModelFileLimits.maxReferenceValues) values")
            }
            guard r.values.count == n else { throw fail("/reference/cycle", "\(r.values.count) values, expected \(r.length) × \(D)") }
            if let k = r.values.firstIndex(where: { !$0.isFinite }) { throw fail("/reference/cycle", "non-finite value at flat index \(k)") }
            try Self.positive(r.dtwThreshold, count: D, "/reference/dtw_threshold", path: path)
            guard (1...ModelFileLimits.maxReferenceLength).contains(r.band) else {
                throw fail("attribute band of /reference/dtw_threshold", "must be 1…\(ModelFileLimits.maxReferenceLength), found \(r.band)")
            }
            values += n + D
            if let rt = r.reportThreshold {
                try Self.positive(rt, count: D, "/reference/report_threshold", path: path)
                values += D
            }
            if let c = r.completionLow, !(c.isFinite && c >= 0 && c <= 1) {
                throw fail("attribute completion_low of /reference", "must be in [0, 1], found \(c)")
            }
            if let l = r.lengthRange, l.lowerBound < 0 || l.upperBound > ModelFileLimits.maxCycleRows {
                throw fail("attributes length_low, length_high of /reference", "must lie in 0…\(ModelFileLimits.maxCycleRows), found \(l)")
            }
        }
        // Every term is bounded above by now, so the sum cannot overflow.
        guard values <= ModelFileLimits.maxValues else { throw fail("model", "\(values) values, at most \(ModelFileLimits.maxValues)") }

        for (name, v) in [("windows", t.windows), ("cycles", t.cycles), ("epochs", t.epochs)] where v < 0 {
            throw fail("attribute \(name) of /training", "must not be negative, found \(v)")
        }
        guard t.seconds.isFinite, t.seconds >= 0 else { throw fail("attribute seconds of /training", "must be finite and ≥ 0, found \(t.seconds)") }
        for (name, s) in [("attribute data_sha256 of /training", t.dataSHA256), ("attribute created_at", createdAt),
                          ("attribute trainer_version", trainerVersion)] where s.utf8.count > ModelFileLimits.maxStringBytes {
            throw fail(name, "longer than \(ModelFileLimits.maxStringBytes) bytes")
        }
    }

    /// Thresholds are divisors: `count` of them, each finite and greater than zero.
    private static func positive(_ values: [Float], count: Int, _ name: String, path: String) throws {
        guard values.count == count else {
            throw ModelFileError(.shape(name, expected: [count], found: [values.count]), path: path)
        }
        for (k, v) in values.enumerated() where !(v.isFinite && v > 0) {
            throw ModelFileError(.invalid(name, reason: "threshold \(v) at flat index \(k) must be finite and greater than 0"), path: path)
        }
    }
}
