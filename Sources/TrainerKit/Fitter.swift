import Dispatch
import Inference
import Model

/// Fits, calibrates and packages an LSTM autoencoder from normal cycles.
public enum Fitter {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Runs the whole fit.
    ///
    /// - Parameters:
    ///   - data: normal cycles.
    ///   - dataSHA256: hash of the training data, stored in the model file.
    ///   - progress: called after every batch (and at the end of every epoch).
    /// - Throws: ``FitError`` when the data cannot give a single window.
    public static func fit(_ data: Dataset, settings s: FitSettings, dataSHA256: String = "", createdAt: String,
                           trainerVersion: String, progress: (FitProgress) -> Void = { _ in }) throws -> FitResult {
        let D = data.sensors.count, T = s.window
        guard D > 0 else { throw FitError(message: "no sensors") }
        guard data.cycles.contains(where: { $0.rows >= T }) else {
            throw FitError(message: "no cycle has \(T) rows, the window length: nothing to train on (longest has \(data.cycles.map(\.rows).max() ?? 0))")
        }
        let (train, validation) = split(data.cycles, fraction: s.validationFraction, window: T)
        let scaler = MinMaxScaler(fitting: train.flatMap(\.values), sensors: D)
        let scaledTrain = train.map { c -> [Float] in var v = c.values; scaler.transform(&v); return v }
        let scaledValidation = validation.map { c -> [Float] in var v = c.values; scaler.transform(&v); return v }
        let trainStarts = Windowing.starts(train, window: T, stride: s.stride)
        let validationStarts = Windowing.starts(validation, window: T, stride: s.stride)
        guard !trainStarts.isEmpty else { throw FitError(message: "the training part has no complete window of \(T) rows") }

        // Training with early stopping on the validation loss (training loss without validation).
        let t0 = now()
        let trainer = AutoencoderTrainer(model: LSTMAutoencoder(window: T, sensors: D, hidden: s.hidden, seed: s.seed),
                                         loss: s.loss, learningRate: s.learningRate, clipNorm: s.clipNorm,
                                         maxBatch: s.batch, threads: s.threads)
        // The validation loss of every epoch: on an evenly spaced subset of the held-out windows.
        let lossStarts = validationStarts.count <= s.maxValidationWindows ? validationStarts
            : (0..<s.maxValidationWindows).map { validationStarts[$0 * validationStarts.count / s.maxValidationWindows] }
        let lossWindows = Windowing.gather(scaledValidation, lossStarts, window: T, sensors: D)
        var rng = SeededGenerator(seed: s.seed &+ 0x5eed)
        var order = trainStarts
        var buffer = [Float](repeating: 0, count: s.batch * T * D)
        var losses: [Float] = [], validationLosses: [Float] = []
        var best = (loss: Double.infinity, model: trainer.model, epoch: 0)
        var stale = 0
        // Large data sets: each epoch trains on a fresh random subset of windows.
        let perEpoch = min(order.count, s.maxWindowsPerEpoch)
        let batches = (perEpoch + s.batch - 1) / s.batch
        for epoch in 1...max(1, s.epochs) {
            order.shuffle(using: &rng)
            let e0 = now()
            var sum = 0.0, seen = 0
            for b in 0..<batches {
                let chunk = order[(b * s.batch)..<min(perEpoch, (b + 1) * s.batch)]
                var k = 0
                for w in chunk {
                    let src = scaledTrain[w.cycle]
                    for i in 0..<(T * D) { buffer[k + i] = src[w.row * D + i] }
                    k += T * D
                }
                let loss = buffer.withUnsafeBufferPointer { trainer.step($0.baseAddress!, count: chunk.count) }
                sum += loss * Double(chunk.count)
                seen += chunk.count
                let rate = Double(seen) / max(now() - e0, 1e-9)
                progress(FitProgress(epoch: epoch, epochs: s.epochs, batch: b + 1, batches: batches, windowsPerSecond: rate,
                                     loss: sum / Double(seen), validationLoss: nil,
                                     eta: Double(perEpoch * (s.epochs - epoch + 1) - seen) / rate, epochDone: false))
            }
            let trainLoss = sum / Double(seen)
            let validationLoss = validationStarts.isEmpty ? trainLoss
                : lossWindows.withUnsafeBufferPointer { trainer.evaluate($0.baseAddress!, count: lossStarts.count) }
            losses.append(Float(trainLoss))
            validationLosses.append(Float(validationLoss))
            let rate = Double(seen) / max(now() - e0, 1e-9)
            progress(FitProgress(epoch: epoch, epochs: s.epochs, batch: batches, batches: batches, windowsPerSecond: rate,
                                 loss: trainLoss, validationLoss: validationLoss,
                                 eta: Double(perEpoch * (s.epochs - epoch)) / rate, epochDone: true))
            if validationLoss < best.loss {
                best = (validationLoss, trainer.model, epoch)
                stale = 0
            } else {
                stale += 1
                if stale >= s.patience { break }
            }
        }
        trainer.restore(best.model)
        let trainSeconds = now() - t0

        // Calibration: with two or more training cycles, cycle-aware and event-level against the
        // reference cycle (their DTW medoid); otherwise a margin over a percentile of windows.
        let c0 = now()
        var calibration: Calibration
        var reference: ReferenceCycle?
        var referenceSource: String?
        var calibrationSummary: String?
        if train.count >= 2 {
            let (index, band) = medoid(train: train, scaled: scaledTrain, settings: s, sensors: D)
            let result = Calibrator.run(model: best.model, scaler: scaler,
                                        cycles: train.map { ($0, false) } + validation.map { ($0, true) },
                                        referenceIndex: index, band: band, settings: s)
            (calibration, reference, referenceSource) = (result.calibration, result.reference, train[index].source)
            calibrationSummary = result.summary
        } else {
            let calibrationWindows = validationStarts.isEmpty
                ? Windowing.gather(scaledTrain, trainStarts, window: T, sensors: D)
                : Windowing.gather(scaledValidation, validationStarts, window: T, sensors: D)
            let (scores, errors) = WindowScorer(model: best.model, threads: s.threads).score(calibrationWindows)
            calibration = Calibration(
                sensorThreshold: (0..<D).map { j in
                    max(s.margin * Percentile.of(stride(from: j, to: errors.count, by: D).map { errors[$0] }, s.percentile), 1e-6)
                },
                windowThreshold: max(s.margin * Percentile.of(scores, s.percentile), 1e-6),
                percentile: s.percentile,
                method: "\(s.margin) × percentile of \(validationStarts.isEmpty ? "training" : "validation") windows (a single cycle: no reference)")
        }
        let calibrationSeconds = now() - c0
        let referenceSeconds = 0.0

        let summary = TrainingSummary(loss: losses, validationLoss: validationLosses, windows: trainStarts.count,
                                      cycles: train.count, epochs: losses.count, seconds: trainSeconds, dataSHA256: dataSHA256)
        let file = ModelFile(model: best.model, sensors: data.sensors, scaler: scaler, loss: s.loss, calibration: calibration,
                             reference: reference, training: summary, createdAt: createdAt, trainerVersion: trainerVersion)
        return FitResult(file: file, trainingCycles: train.count, validationCycles: validation.count,
                         trainingWindows: trainStarts.count, validationWindows: validationStarts.count,
                         bestEpoch: best.epoch, stoppedEarly: losses.count < s.epochs, referenceSource: referenceSource,
                         trainSeconds: trainSeconds, calibrationSeconds: calibrationSeconds, referenceSeconds: referenceSeconds,
                         calibrationSummary: calibrationSummary)
    }

    /// Holds out whole cycles (the last ones) when there are several, else the last rows.
    static func split(_ cycles: [Cycle], fraction: Double, window: Int) -> (train: [Cycle], validation: [Cycle]) {
        guard fraction > 0 else { return (cycles, []) }
        let usable = cycles.filter { $0.rows >= window }
        if usable.count >= 2 {
            let k = max(1, Int((Double(usable.count) * fraction).rounded()))
            return (Array(usable.dropLast(min(k, usable.count - 1))), Array(usable.suffix(min(k, usable.count - 1))))
        }
        guard let c = usable.first else { return (cycles, []) }
        let held = Int((Double(c.rows) * fraction).rounded())
        guard held >= window, c.rows - held >= window else { return ([c], []) }
        return ([slice(c, 0..<(c.rows - held))], [slice(c, (c.rows - held)..<c.rows)])
    }

    static func slice(_ c: Cycle, _ r: Range<Int>) -> Cycle {
        let D = c.values.count / c.rows
        return Cycle(source: c.source, values: Array(c.values[(r.lowerBound * D)..<(r.upperBound * D)]), rows: r.count,
                     times: c.times.map { Array($0[r]) }, timeText: c.timeText.map { Array($0[r]) },
                     anomaly: c.anomaly.map { Array($0[r]) }, changepoint: c.changepoint.map { Array($0[r]) })
    }

    /// The reference cycle: the DTW medoid of (at most ``FitSettings/maxMedoidCycles``) training
    /// cycles, and the live DTW band (a fifth of its length, at least 10 rows, unless set).
    static func medoid(train: [Cycle], scaled: [[Float]], settings s: FitSettings, sensors D: Int) -> (index: Int, band: Int) {
        let picks: [Int] = train.count <= s.maxMedoidCycles ? Array(train.indices)
            : (0..<s.maxMedoidCycles).map { $0 * train.count / s.maxMedoidCycles }
        let longest = picks.map { train[$0].rows }.max()!
        let medoid = DTW.medoid(picks.map { scaled[$0] }, dimensions: D, window: max(10, longest / 10), threads: s.threads)
        let ref = picks[medoid.index]
        return (ref, s.dtwBand ?? band(reference: train[ref].rows, lengths: train.map(\.rows)))
    }

    /// The live DTW band: a fifth of the reference, at least 10 rows, and wide enough for every
    /// normal cycle's length to align with the whole reference (1.25 × the largest difference in
    /// length), at most the reference's length.
    static func band(reference m: Int, lengths: [Int]) -> Int {
        let spread = lengths.map { abs($0 - m) }.max() ?? 0
        return max(10, min(max(m / 5, spread + spread / 4), m))
    }
}

extension Fitter {
    /// Calibrates a trained model again on normal cycles, keeping its network, scaler and
    /// reference cycle: every cycle counts as unseen (give cycles the model was not trained on
    /// for honest figures).
    ///
    /// - Throws: ``FitError`` when the model has no reference cycle or no cycle has a window.
    public static func recalibrate(_ file: ModelFile, data: Dataset, settings s: FitSettings) throws -> (file: ModelFile, summary: String) {
        guard let ref = file.reference else {
            throw FitError(message: "the model has no reference cycle (it was fit on a single cycle): nothing to calibrate along")
        }
        let T = file.model.window
        let usable = data.cycles.filter { $0.rows >= T }
        guard !usable.isEmpty else { throw FitError(message: "no cycle has \(T) rows, the window length") }
        let cycles = usable.map { ($0, true) } + [(Cycle(source: "reference", values: ref.values, rows: ref.length), false)]
        let band = s.dtwBand ?? band(reference: ref.length, lengths: usable.map(\.rows))
        let result = Calibrator.run(model: file.model, scaler: file.scaler, cycles: cycles, referenceIndex: cycles.count - 1,
                                    band: band, settings: s)
        var out = file
        out.calibration = result.calibration
        out.reference = result.reference
        return (out, result.summary)
    }
}
