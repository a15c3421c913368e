import Foundation
import Inference
import Model

/// Cycle-aware, event-level calibration of a model with a reference cycle.
///
/// 1. Every normal cycle but the reference is replayed as the server scores it: live open-end
///    DTW against the reference (which also places each window in the reference's phases) and
///    the autoencoder's errors of every window (stride 1).
/// 2. The **golden-cycle envelope**: the reference is cut into bins; per bin and sensor the
///    `envelopeQuantile` of the errors, window scores and DTW deviations of the windows that
///    align with it. Ramps and phase changes get wide tolerances, steady running narrow ones.
/// 3. **k-fold over cycles**: the envelope's shape is learnt on k−1 folds of cycles and the
///    held-out fold replayed through the sensor state machines and the maintenance policy; per
///    cycle the smallest factor on the envelope that raises no event (``EventScale``). The
///    factor applied is the bound that at most `falseEventRate` of cycles exceed (empirical with
///    ≥ 2 / rate cycles, otherwise a log-normal tail bound, never below the largest seen), and at
///    least the factor that flags at most `rowFlagRate` of held-out windows.
/// 4. The **post-cycle report** gets cycle-level thresholds the same way: per sensor the whole
///    cycle's mean squared DTW deviation, and the cycle length, as one statistic whose
///    `1 − reportRate` tail bound sets the per-sensor thresholds and the normal length range.
///
/// Training cycles' reconstruction errors are lower than those of unseen cycles: their errors
/// are scaled by the per-sensor ratio of the held-out validation cycles' median error to the
/// training cycles' (at least 1) before they enter the envelope.
enum Calibrator {
    /// One normal cycle replayed: per window (stride 1) its errors, score, DTW deviations,
    /// aligned reference rows and end time.
    struct Replay {
        var errors: [Float] = []      // [W, D]
        var scores: [Float] = []      // [W]
        var dtw: [Float] = []         // [W, D]
        var variation: [Float] = []   // [W, D]
        var alignedLow: [Int32] = []
        var alignedHigh: [Int32] = []
        var times: [Double] = []
        /// Share of the reference the cycle's end aligns with.
        var completion = 1.0
        var windows: Int { scores.count }
    }

    struct Result {
        var calibration: Calibration
        var reference: ReferenceCycle
        var summary: String
    }

    /// Runs the calibration.
    ///
    /// - Parameters:
    ///   - cycles: every normal cycle (raw values, dataset sensor order) with whether it was held
    ///     out of training.
    ///   - referenceIndex: the index in `cycles` of the reference cycle (left out).
    static func run(model: LSTMAutoencoder, scaler: MinMaxScaler, cycles: [(cycle: Cycle, heldOut: Bool)], referenceIndex: Int,
                    band: Int, settings s: FitSettings) -> Result {
        let D = model.sensors, T = model.window
        let ref = cycles[referenceIndex].cycle
        var scaledRef = ref.values
        scaler.transform(&scaledRef)
        let m = ref.rows
        let usable = cycles.indices.filter { $0 != referenceIndex && cycles[$0].cycle.rows >= T }
        let pool = usable.count <= s.maxCalibrationCycles ? usable
            : (0..<s.maxCalibrationCycles).map { usable[$0 * usable.count / s.maxCalibrationCycles] }
        var replays = replay(pool.map { cycles[$0].cycle }, model: model, scaler: scaler, reference: scaledRef, band: band, settings: s)

        // Training cycles' errors, raised to what unseen cycles show.
        let heldOut = pool.map { cycles[$0].heldOut }
        let bias = trainingBias(replays, heldOut: heldOut, sensors: D)
        for k in replays.indices where !heldOut[k] {
            for w in 0..<replays[k].windows {
                for j in 0..<D { replays[k].errors[w * D + j] *= bias.errors[j] }
                replays[k].scores[w] *= bias.score
            }
        }

        let B = max(1, min(s.envelopeBins, m))
        let folds = min(s.folds, replays.count)
        // Each part — reconstruction error (with the window score), DTW deviation, stillness —
        // gets its own factor at a third of the rates, so a part whose normal tail is heavy (a
        // quantised sensor that sometimes sits still) cannot blunt the others.
        let inSample = folds < 2
        let groups: [(shape: ThresholdEnvelope, test: [Int])] = inSample
            ? [(envelope(replays, bins: B, length: m, sensors: D, settings: s), Array(replays.indices))]
            : (0..<folds).map { f in
                (envelope(replays.indices.filter { $0 % folds != f }.map { replays[$0] }, bins: B, length: m, sensors: D, settings: s),
                 replays.indices.filter { $0 % folds == f })
            }
        // A single cycle besides the reference is judged in-sample, with the fallback margin.
        let slack = inSample ? s.margin : 1
        var byComponent = [[Double]](repeating: [], count: 3)
        var ratiosByComponent = [[Float]](repeating: [], count: 3)
        for g in groups {
            for k in g.test {
                let parts = evaluateParts(replays[k], g.shape, length: m, sensors: D)
                for c in 0..<3 {
                    byComponent[c].append(Double(parts.required[c] * slack))
                    ratiosByComponent[c] += parts.ratios[c].map { $0 * slack }
                }
            }
        }
        let factors: [Float] = (0..<3).map { c in
            let events = Tail.bound(byComponent[c], rate: s.falseEventRate / 3)
            let rows = ratiosByComponent[c].isEmpty ? 0 : Double(Percentile.of(ratiosByComponent[c], 100 * (1 - s.rowFlagRate / 3)))
            return Float(max(events, rows, 1e-6))
        }
        // What the factors give together, on the same held-out cycles.
        var required: [Double] = []
        var windowRatios: [Float] = []
        for g in groups {
            for k in g.test {
                let (req, ratios) = evaluate(replays[k], g.shape, length: m, sensors: D, factors: factors)
                required.append(Double(req * slack))
                windowRatios += ratios.map { $0 * slack }
            }
        }
        let shape = envelope(replays, bins: B, length: m, sensors: D, settings: s)
        let env = ThresholdEnvelope(bins: B, sensorThreshold: shape.sensorThreshold.map { $0 * factors[0] },
                                    windowThreshold: shape.windowThreshold.map { $0 * factors[0] },
                                    dtwThreshold: shape.dtwThreshold.map { $0 * factors[1] },
                                    variationFloor: shape.variationFloor.map { $0 / factors[2] })
        let falseEvents = required.isEmpty ? 0 : 100 * Double(required.filter { $0 > 1 }.count) / Double(required.count)
        let rowRate = windowRatios.isEmpty ? 0 : Double(windowRatios.filter { $0 > 1 }.count) / Double(windowRatios.count)

        // The post-cycle report: whole-cycle deviations and length.
        let report = reportThresholds(cycles.map(\.cycle), pool: pool, completions: replays.map(\.completion), reference: ref,
                                      scaler: scaler, settings: s)
        let expected = ExpectedFalseAlarms(eventsPer100Cycles: falseEvents, reportsPer100Cycles: report.falseReports,
                                           rowRate: rowRate, cycles: required.count, folds: inSample ? 1 : folds)
        func columnMax(_ v: [Float]) -> [Float] {
            (0..<D).map { j in Swift.stride(from: j, to: v.count, by: D).map { v[$0] }.max() ?? 1e-6 }
        }
        let method = String(format: """
            golden-cycle envelope (%d bins, p%.0f per bin) × a factor per part — reconstruction error %.3f, DTW deviation \
            %.3f, stillness %.3f — each the larger of the %.2f %%-tail bound of the factor that keeps a held-out cycle free of \
            maintenance events by that part (%d cycles, %d-fold over cycles; %@) and the factor flagging %.3f %% of held-out windows
            """, B, 100 * s.envelopeQuantile, factors[0], factors[1], factors[2], 100 * s.falseEventRate / 3, byComponent[0].count,
                            max(folds, 1), Tail.describe(byComponent[1], rate: s.falseEventRate / 3), 100 * s.rowFlagRate / 3)
        let calibration = Calibration(sensorThreshold: columnMax(env.sensorThreshold), windowThreshold: env.windowThreshold.max() ?? 1e-6,
                                      percentile: 100 * s.envelopeQuantile, method: method, envelope: env, expected: expected)
        let reference = ReferenceCycle(values: ref.values, length: m, dtwThreshold: columnMax(env.dtwThreshold), band: band,
                                       reportThreshold: report.thresholds, lengthRange: report.lengthRange,
                                       completionLow: report.completionLow)
        let summary = String(format: "%d normal cycles replayed, %d folds: expected %.2f false events and %.2f warning reports per 100 cycles, %.3f %% of rows flagged",
                             required.count, max(folds, 1), falseEvents, report.falseReports, 100 * rowRate)
            + "; report: " + report.detail
        return Result(calibration: calibration, reference: reference, summary: summary)
    }

    /// Replays cycles as the server scores them (stride-1 windows, live DTW).
    static func replay(_ cycles: [Cycle], model: LSTMAutoencoder, scaler: MinMaxScaler, reference: [Float], band: Int,
                       settings s: FitSettings) -> [Replay] {
        let D = model.sensors, T = model.window
        let scorer = WindowScorer(model: model, threads: s.threads)
        var out = [Replay](repeating: Replay(), count: cycles.count)
        // DTW per cycle (in parallel), errors in batches of whole cycles.
        var scaledCycles = [[Float]](repeating: [], count: cycles.count)
        scaledCycles.withUnsafeMutableBufferPointer { scaled in
            out.withUnsafeMutableBufferPointer { out in
                let ranges = shardRanges(cycles.count, parts: s.threads)
                parallelFor(ranges.count) { part in
                    for c in ranges[part] {
                        var v = cycles[c].values
                        scaler.transform(&v)
                        for k in v.indices { v[k] = Finite.scaled(v[k]) }
                        scaled[c] = v
                        out[c] = dtwPart(v, rows: cycles[c].rows, times: cycles[c].times, reference: reference, band: band, sensors: D, window: T)
                    }
                }
            }
        }
        var batch: [Int] = [], windows = 0
        func flush() {
            guard !batch.isEmpty else { return }
            var flat = [Float]()
            flat.reserveCapacity(windows * T * D)
            for c in batch {
                for e in (T - 1)..<cycles[c].rows { flat += scaledCycles[c][((e - T + 1) * D)..<((e + 1) * D)] }
            }
            let (scores, errors) = scorer.score(flat)
            var k = 0
            for c in batch {
                let n = cycles[c].rows - T + 1
                out[c].scores = Array(scores[k..<(k + n)])
                out[c].errors = Array(errors[(k * D)..<((k + n) * D)])
                k += n
            }
            batch = []
            windows = 0
        }
        for c in cycles.indices {
            batch.append(c)
            windows += cycles[c].rows - T + 1
            if windows >= 16_384 { flush() }
        }
        flush()
        return out
    }

    /// Live DTW of one scaled cycle: per window its deviation, aligned rows and end time.
    static func dtwPart(_ v: [Float], rows: Int, times: [Double]?, reference: [Float], band: Int, sensors D: Int, window T: Int) -> Replay {
        var live = OpenEndDTW(reference: reference, sensors: D, window: band)
        var costs = [Double](repeating: 0, count: rows * D)
        var positions = [Int32](repeating: 0, count: rows)
        v.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                live.append(p.baseAddress! + r * D)
                for j in 0..<D { costs[r * D + j] = live.cost[j] }
                positions[r] = Int32(live.position)
            }
        }
        var out = Replay()
        out.completion = Double(live.position + 1) / Double(live.length)
        let n = rows - T + 1
        out.dtw.reserveCapacity(n * D)
        out.variation.reserveCapacity(n * D)
        // Prefix sums of |Δ| per sensor, for each window's variation.
        var moved = [Double](repeating: 0, count: rows * D)
        for r in 1..<max(rows, 1) {
            for j in 0..<D { moved[r * D + j] = moved[(r - 1) * D + j] + Double(abs(v[r * D + j] - v[(r - 1) * D + j])) }
        }
        for e in (T - 1)..<rows {
            let start = e - T
            for j in 0..<D {
                let before = start >= 0 ? costs[start * D + j] : 0
                out.dtw.append(Float((costs[e * D + j] - before) / Double(T)))
            }
            for j in 0..<D {
                out.variation.append(T > 1 ? Float((moved[e * D + j] - moved[(e - T + 1) * D + j]) / Double(T - 1)) : 0)
            }
            let a = positions[e - T + 1], b = positions[e]
            out.alignedLow.append(min(a, b))
            out.alignedHigh.append(max(a, b))
            out.times.append(times?[e] ?? Double(e))
        }
        return out
    }

    /// Per-sensor factors (≥ 1) from training to held-out errors, by median.
    static func trainingBias(_ replays: [Replay], heldOut: [Bool], sensors D: Int) -> (errors: [Float], score: Float) {
        let held = replays.indices.filter { heldOut[$0] }, train = replays.indices.filter { !heldOut[$0] }
        guard !held.isEmpty, !train.isEmpty else { return ([Float](repeating: 1, count: D), 1) }
        func median(_ idx: [Int], _ pick: (Replay) -> [Float]) -> Float {
            let v = idx.flatMap { pick(replays[$0]) }
            return v.isEmpty ? 0 : Percentile.of(v, 50)
        }
        let errors = (0..<D).map { j -> Float in
            let column: (Replay) -> [Float] = { r in Swift.stride(from: j, to: r.errors.count, by: D).map { r.errors[$0] } }
            let t = median(train, column), h = median(held, column)
            return t > 0 ? min(max(h / t, 1), 3) : 1
        }
        let t = median(train, \.scores), h = median(held, \.scores)
        return (errors, t > 0 ? min(max(h / t, 1), 3) : 1)
    }

    /// The envelope's shape (before the factor) from some cycles.
    static func envelope(_ replays: [Replay], bins B: Int, length m: Int, sensors D: Int, settings s: FitSettings) -> ThresholdEnvelope {
        let total = replays.reduce(0) { $0 + $1.windows }
        // Enough windows for a stable quantile per bin, without sorting millions of values.
        let step = max(1, total / 300_000)
        var err = [[Float]](repeating: [], count: B * D), dtw = [[Float]](repeating: [], count: B * D)
        var still = [[Float]](repeating: [], count: B * D)
        var win = [[Float]](repeating: [], count: B)
        var globalErr = [[Float]](repeating: [], count: D), globalDTW = [[Float]](repeating: [], count: D), globalWin: [Float] = []
        let shape = ThresholdEnvelope(bins: B, sensorThreshold: [], windowThreshold: [], dtwThreshold: [])
        var k = 0
        for r in replays {
            for w in 0..<r.windows {
                defer { k += 1 }
                guard k % step == 0 else { continue }
                let bins = shape.bins(Int(r.alignedLow[w])...Int(r.alignedHigh[w]), length: m)
                for b in bins {
                    win[b].append(r.scores[w])
                    for j in 0..<D {
                        err[b * D + j].append(r.errors[w * D + j])
                        dtw[b * D + j].append(r.dtw[w * D + j])
                        still[b * D + j].append(r.variation[w * D + j])
                    }
                }
                globalWin.append(r.scores[w])
                for j in 0..<D {
                    globalErr[j].append(r.errors[w * D + j])
                    globalDTW[j].append(r.dtw[w * D + j])
                }
            }
        }
        let p = 100 * s.envelopeQuantile
        func q(_ v: [Float]) -> Float { v.isEmpty ? 0 : Percentile.of(v, p) }
        // Floors: a twentieth of the global level, and absolute minima (a constant stretch must
        // not get a zero tolerance).
        let floorErr = globalErr.map { max(0.05 * q($0), 1e-4) }, floorDTW = globalDTW.map { max(0.05 * q($0), 1e-6) }
        let floorWin = max(0.05 * q(globalWin), 1e-4)
        // A bin no window reached borrows the global level.
        let sensorThreshold = (0..<(B * D)).map { i in err[i].isEmpty ? max(q(globalErr[i % D]), floorErr[i % D]) : max(q(err[i]), floorErr[i % D]) }
        let dtwThreshold = (0..<(B * D)).map { i in dtw[i].isEmpty ? max(q(globalDTW[i % D]), floorDTW[i % D]) : max(q(dtw[i]), floorDTW[i % D]) }
        let windowThreshold = (0..<B).map { b in win[b].isEmpty ? max(q(globalWin), floorWin) : max(q(win[b]), floorWin) }
        // The least variation: the low quantile of the bin's windows; 0 (no check) where the
        // sensor may be still or no window reached the bin.
        // Only where normal windows never come near stillness: a bin whose 1st percentile is
        // below a fifth of its low quantile has normal still windows, and gets no check.
        let variationFloor = (0..<(B * D)).map { i -> Float in
            guard !still[i].isEmpty else { return 0 }
            let low = Percentile.of(still[i], 100 - p), lowest = Percentile.of(still[i], 1)
            return lowest >= 0.2 * low ? low : 0
        }
        return ThresholdEnvelope(bins: B, sensorThreshold: sensorThreshold, windowThreshold: windowThreshold, dtwThreshold: dtwThreshold,
                                 variationFloor: variationFloor)
    }

    /// One cycle against an envelope shape with the parts' factors: the factor it needs to raise
    /// no event, and each window's largest ratio (sensor scores and window score).
    static func evaluate(_ r: Replay, _ e: ThresholdEnvelope, length m: Int, sensors D: Int,
                         factors f: [Float]) -> (required: Float, ratios: [Float])
    {
        var scores = [Float](repeating: 0, count: r.windows * D)
        var ratios = [Float](repeating: 0, count: r.windows)
        for w in 0..<r.windows {
            let th = e.thresholds(Int(r.alignedLow[w])...Int(r.alignedHigh[w]), length: m, sensors: D)
            var worst = r.scores[w] / th.window / f[0]
            for j in 0..<D {
                let still = ThresholdEnvelope.stillRatio(floor: th.variation[j], moved: r.variation[w * D + j])
                let s = max(r.errors[w * D + j] / th.sensor[j] / f[0], r.dtw[w * D + j] / th.dtw[j] / f[1], still / f[2])
                scores[w * D + j] = s
                worst = max(worst, s)
            }
            ratios[w] = worst
        }
        return (EventScale.required(windows: scores, sensors: D, times: r.times), ratios)
    }

    /// One cycle against an envelope shape, each part alone (reconstruction error with the window
    /// score, DTW deviation, stillness) in one pass over the windows: per part the factor that
    /// keeps the cycle free of events and each window's largest ratio.
    static func evaluateParts(_ r: Replay, _ e: ThresholdEnvelope, length m: Int, sensors D: Int)
        -> (required: [Float], ratios: [[Float]])
    {
        var scores = [[Float]](repeating: [Float](repeating: 0, count: r.windows * D), count: 3)
        var ratios = [[Float]](repeating: [Float](repeating: 0, count: r.windows), count: 3)
        for w in 0..<r.windows {
            let th = e.thresholds(Int(r.alignedLow[w])...Int(r.alignedHigh[w]), length: m, sensors: D)
            var worst: (Float, Float, Float) = (r.scores[w] / th.window, 0, 0)
            for j in 0..<D {
                let error = r.errors[w * D + j] / th.sensor[j], dtw = r.dtw[w * D + j] / th.dtw[j]
                let still = ThresholdEnvelope.stillRatio(floor: th.variation[j], moved: r.variation[w * D + j])
                scores[0][w * D + j] = error
                scores[1][w * D + j] = dtw
                scores[2][w * D + j] = still
                worst = (max(worst.0, error), max(worst.1, dtw), max(worst.2, still))
            }
            (ratios[0][w], ratios[1][w], ratios[2][w]) = worst
        }
        return ((0..<3).map { EventScale.required(windows: scores[$0], sensors: D, times: r.times) }, ratios)
    }

    /// Cycle-level thresholds of the report and the normal length range.
    static func reportThresholds(_ cycles: [Cycle], pool: [Int], completions: [Double], reference: Cycle, scaler: MinMaxScaler,
                                 settings s: FitSettings)
        -> (thresholds: [Float], lengthRange: ClosedRange<Int>, completionLow: Double, falseReports: Double, detail: String)
    {
        let D = scaler.sensors
        var deviations = [[Double]](repeating: [], count: pool.count)
        deviations.withUnsafeMutableBufferPointer { out in
            let ranges = shardRanges(pool.count, parts: s.threads)
            parallelFor(ranges.count) { part in
                for k in ranges[part] {
                    out[k] = CycleReport.deviations(values: cycles[pool[k]].values, reference: reference.values, scaler: scaler, sensors: D)
                }
            }
        }
        let logs = cycles.map { log(Double(max($0.rows, 1))) }
        let center = Double(Percentile.of(logs.map(Float.init), 50))
        let lengthDev = pool.map { abs(logs[$0] - center) }
        let lengthScale = max(lengthDev.isEmpty ? 0 : Double(Percentile.of(lengthDev.map(Float.init), 90)), 0.01)
        let sensorScale = (0..<D).map { j in max(deviations.isEmpty ? 0 : Double(Percentile.of(deviations.map { Float($0[j]) }, 90)), 1e-8) }
        // Sensors (their largest normalised deviation), length and completion get a third of the rate each.
        let sensorStatistic = pool.indices.map { k in (0..<D).map { deviations[k][$0] / sensorScale[$0] }.max() ?? 0 }
        let lengthStatistic = pool.indices.map { lengthDev[$0] / lengthScale }
        let factor = sensorStatistic.isEmpty ? Double(s.margin * s.margin) : Tail.bound(sensorStatistic, rate: s.reportRate / 3)
        let lengthFactor = lengthStatistic.isEmpty ? 3 : Tail.bound(lengthStatistic, rate: s.reportRate / 3)
        // Completion: the shortfall 1 − completion, at least 1 % of the reference.
        let shortfall = completions.map { max(0, 1 - $0) }
        let completionLow = 1 - min(max(shortfall.isEmpty ? 0.05 : Tail.bound(shortfall, rate: s.reportRate / 3), 0.01), 1)
        let half = lengthScale * lengthFactor
        let low = Int(exp(center - half).rounded(.down)), high = Int(exp(center + half).rounded(.up))
        let flagged = pool.indices.filter {
            sensorStatistic[$0] > factor || lengthStatistic[$0] > lengthFactor || shortfall[$0] > 1 - completionLow
        }.count
        let falseReports = pool.isEmpty ? 0 : 100 * Double(flagged) / Double(pool.count)
        let detail = String(format: "sensor factor %.3f (%@), length factor %.3f (%@), least completion %.3f", factor,
                            Tail.describe(sensorStatistic, rate: s.reportRate / 3), lengthFactor,
                            Tail.describe(lengthStatistic, rate: s.reportRate / 3), completionLow)
        return (sensorScale.map { Float($0 * factor) }, max(0, low)...max(low, high), completionLow, falseReports, detail)
    }
}

/// Upper tail bounds of a positive statistic over normal cycles.
enum Tail {
    /// The value that at most `rate` of future cycles exceed: the empirical `1 − rate` quantile
    /// with at least `2 / rate` cycles (two or more expected beyond it); otherwise the larger of that quantile and a Pareto tail
    /// fitted to the top fifth (log values above their 80th percentile u, mean excess β ≥ 0.02:
    /// `exp(u + β · ln(0.2 / rate))`), and never below the largest value seen when there are
    /// fewer than `1 / rate` cycles.
    static func bound(_ values: [Double], rate: Double) -> Double {
        let v = values.filter { $0.isFinite }.map { max($0, 1e-9) }
        guard !v.isEmpty else { return 1 }
        let empirical = Double(Percentile.of(v.map(Float.init), 100 * (1 - rate)))
        if Double(v.count) >= 2 / rate { return empirical }
        let (u, beta) = paretoTail(v)
        let bound = exp(u + beta * log(0.2 / rate))
        let seen = Double(v.count) < 1 / rate ? v.max()! : 0
        return max(empirical, bound, seen)
    }

    /// The 80th percentile of the log values and the mean excess of those above it.
    static func paretoTail(_ v: [Double]) -> (u: Double, beta: Double) {
        let logs = v.map { log($0) }.sorted()
        let u = Double(Percentile.of(logs.map(Float.init), 80))
        let top = logs.filter { $0 > u }
        let beta = top.isEmpty ? 0 : top.reduce(0) { $0 + ($1 - u) } / Double(top.count)
        return (u, max(beta, 0.02))
    }

    /// How ``bound(_:rate:)`` decided, for the model report.
    static func describe(_ values: [Double], rate: Double) -> String {
        let v = values.filter { $0.isFinite }.map { max($0, 1e-9) }
        guard !v.isEmpty else { return "no cycles" }
        if Double(v.count) >= 2 / rate { return String(format: "empirical quantile, largest %.3f", v.max()!) }
        let (u, beta) = paretoTail(v)
        return String(format: "Pareto tail of the top fifth, 80th percentile %.3f, mean log excess %.3f, largest %.3f", exp(u), beta, v.max()!)
    }

    /// The standard normal quantile (Acklam's rational approximation, |error| < 1.2e−9).
    static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "probability outside (0, 1)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low { return -normalQuantile(1 - p) }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }
}
