import Foundation
import Model

/// How a finished cycle compares with the reference cycle (and the previous cycle).
public struct CycleReport: Sendable, Equatable, Codable {
    /// One sensor's comparison.
    public struct SensorReport: Sendable, Equatable, Codable {
        public var sensor: String
        /// Euclidean distance to the reference, the cycle resampled to the reference length.
        public var euclideanToReference: Double
        /// Banded DTW distance to the reference.
        public var dtwToReference: Double
        /// Same against the previous cycle, when there is one.
        public var euclideanToPrevious: Double?
        public var dtwToPrevious: Double?
        /// Largest and mean absolute deviation from the reference (resampled, scaled units).
        public var maxDeviation: Double, meanDeviation: Double
        /// Energy share per frequency band of the cycle minus the reference's.
        public var bandDifference: [Double]
        /// Deviation ratio ρ: the mean squared DTW-aligned deviation per row over the sensor's
        /// calibrated DTW threshold (1 = at the threshold).
        public var ratio: Double
        /// Share of this sensor in Σρ² (contributions add up to 1).
        public var contribution: Double
    }

    /// Hypotheses for why a cycle was aborted.
    public enum StopCause: String, Sendable, Codable {
        case connectionLoss = "connection_loss", sensorFault = "sensor_fault", process
    }

    public enum Severity: String, Sendable, Codable { case normal, warning, critical }

    /// Per-sensor comparisons, ranked by contribution (largest first).
    public var sensors: [SensorReport]
    /// 0–100: `100 · exp(−½ · (mean_j min(ρ_j, 10)² + min(λ, 10)²))` with λ the
    /// ``lengthRatio`` (0 without one) — about 95 when every sensor sits at a third of its
    /// threshold and the length is normal, 61 when all sensors sit at it, lower as any sensor or
    /// the length moves further away.
    public var healthScore: Double
    /// normal: every ρ and λ ≤ 1; warning: the largest ≤ the critical factor; critical otherwise.
    public var severity: Severity
    /// Whether the cycle counts as anomalous (severity above normal).
    public var anomalous: Bool { severity != .normal }
    public var rows: Int
    public var referenceRows: Int
    public var recommendations: [String]
    /// For an aborted cycle: the last seconds before the stop, `[rows, D]` raw values.
    public var lastRows: [Float]?
    public var lastRowsTimes: [Double]?
    public var stopCause: StopCause?
    public var stopCauseDetail: String?
    /// The dependent multivariate DTW path (cycle row, reference row), for display.
    public var path: [[Int]]
    /// The model whose reference cycle the report compares with (set by the server; absent in
    /// reports stored before it was recorded).
    public var modelID: String? = nil
    /// The model's sensors in its order: the order of ``lastRows`` (absent in reports stored
    /// before it was recorded).
    public var sensorNames: [String]? = nil
    /// How far the cycle's length lies from normal: `|ln(rows / c)| / h` for the model's normal
    /// length range `low…high` (c = √(low·high), h = ½ ln(high/low)), so 1 at either end of the
    /// range; absent without a range (older models).
    public var lengthRatio: Double? = nil
    /// The normal length range `[low, high]` (rows) it was judged against.
    public var normalLength: [Int]? = nil
    /// The share of the reference cycle the cycle's end aligns with (open-end DTW), and how far it
    /// falls short against normal cycles: `(1 − completion) / (1 − completion_low)`, 1 at the
    /// least completion a normal cycle shows. Absent without a calibrated bound (older models).
    public var completion: Double? = nil
    public var completionRatio: Double? = nil
}

/// What a report is computed from.
public struct CycleReportInput: Sendable {
    public var sensors: [String]
    /// The cycle, `[n, D]` raw values, and its row times (seconds).
    public var values: [Float]
    public var times: [Double]
    /// Reference cycle `[m, D]` raw, and the previous cycle `[p, D]` raw (optional).
    public var reference: [Float]
    public var previous: [Float]?
    /// Scaler used to compare sensors in common units.
    public var scaler: MinMaxScaler
    /// Per-sensor DTW-deviation thresholds (mean squared aligned deviation per row).
    public var dtwThreshold: [Float]?
    /// Normal cycle lengths (rows), when the model has them.
    public var lengthRange: ClosedRange<Int>?
    /// The least completion of a normal cycle and the live DTW band to measure it with.
    public var completionLow: Double?
    public var liveBand: Int?
    public var aborted: Bool
    public var criticalFactor: Double

    public init(sensors: [String], values: [Float], times: [Double], reference: [Float], previous: [Float]? = nil,
                scaler: MinMaxScaler, dtwThreshold: [Float]?, lengthRange: ClosedRange<Int>? = nil, aborted: Bool,
                criticalFactor: Double = 3) {
        self.sensors = sensors
        self.values = values
        self.times = times
        self.reference = reference
        self.previous = previous
        self.scaler = scaler
        self.dtwThreshold = dtwThreshold
        self.lengthRange = lengthRange
        self.aborted = aborted
        self.criticalFactor = criticalFactor
    }
}

extension CycleReportInput {
    /// The input for a cycle of `model`'s sensors against its reference cycle, with its
    /// calibrated cycle-level thresholds (the report thresholds, else the live DTW thresholds)
    /// and its normal length range — what the server and `vertac-train evaluate` both use.
    ///
    /// - Returns: nil when the model has no reference cycle.
    public init?(model: ModelFile, values: [Float], times: [Double], previous: [Float]? = nil, aborted: Bool,
                 criticalFactor: Double = 3) {
        guard let r = model.reference else { return nil }
        self.init(sensors: model.sensors, values: values, times: times, reference: r.values, previous: previous,
                  scaler: model.scaler, dtwThreshold: r.reportThreshold ?? r.dtwThreshold, lengthRange: r.lengthRange,
                  aborted: aborted, criticalFactor: criticalFactor)
        completionLow = r.completionLow
        liveBand = r.band
    }
}

extension CycleReport {
    /// The share of the reference (scaled `[m, D]`) that the end of a cycle (scaled `[n, D]`)
    /// aligns with: the live open-end DTW's position after the last row, plus one, over m.
    public static func completion(values: [Float], reference: [Float], sensors D: Int, band: Int) -> Double {
        var live = OpenEndDTW(reference: reference, sensors: D, window: band)
        values.withUnsafeBufferPointer { p in
            for r in 0..<(values.count / D) { live.append(p.baseAddress! + r * D) }
        }
        return Double(live.position + 1) / Double(live.length)
    }

    /// ``CycleReport/completionRatio``: the shortfall against the least normal completion.
    public static func completionRatio(_ completion: Double, low: Double) -> Double {
        Finite.score(max(0, 1 - completion) / max(1 - low, 0.005))
    }

    /// ``CycleReport/lengthRatio`` of a cycle of `rows` rows against the normal range.
    public static func lengthRatio(rows: Int, range: ClosedRange<Int>) -> Double {
        let low = Double(max(1, range.lowerBound)), high = Double(max(range.upperBound, range.lowerBound, 1))
        let center = (low * high).squareRoot(), half = max(0.5 * log(high / low), 0.005)
        return Finite.score(abs(log(Double(max(rows, 1)) / center)) / half)
    }

    /// The mean squared DTW-aligned deviation per row of each sensor of a cycle from the
    /// reference (scaled, Savitzky–Golay smoothed, banded DTW): the figure the report divides by
    /// each sensor's threshold, and what calibration sets those thresholds from.
    public static func deviations(values: [Float], reference: [Float], scaler: MinMaxScaler, sensors D: Int) -> [Double] {
        let n = values.count / D, m = reference.count / D
        let sg = SavitzkyGolay()
        let band = Self.band(n, m)
        return (0..<D).map { j in
            let x = sg.smooth((0..<n).map { Finite.scaled((values[$0 * D + j] - scaler.min[j]) / scaler.range(j)) })
            let r = sg.smooth((0..<m).map { Finite.scaled((reference[$0 * D + j] - scaler.min[j]) / scaler.range(j)) })
            let dtw = DTW.distance(x, r, window: band)
            return dtw * dtw / Double(max(n, m))
        }
    }

    /// Seconds of data kept before an abnormal stop.
    public static let lastSeconds = 30.0
    /// The DTW band of the report: 2 % of the longer series, at least 10 rows, plus the difference
    /// in length (without it a cycle of another length could not be aligned end to end at all).
    public static func band(_ n: Int, _ m: Int) -> Int { max(10, max(n, m) / 50) + abs(n - m) }

    /// ρ scale without calibrated thresholds: a mean squared deviation of 0.01 (0.1 RMS, scaled).
    public static let fallbackThreshold = 0.01

    /// Builds the post-cycle report: scale, Savitzky–Golay smoothing, then per-sensor Euclidean
    /// and banded DTW distances to the reference (and previous cycle), deviations, band energy
    /// differences, ratios, health score, ranking and, for an aborted cycle, the last 30 s with a
    /// stop-cause hypothesis.
    ///
    /// - Parameter threads: sensors are compared in parallel.
    public static func make(_ input: CycleReportInput, threads: Int = 1) -> CycleReport {
        var input = input
        let D = input.sensors.count
        var completion: Double?
        if input.completionLow != nil, let band = input.liveBand, D > 0, !input.values.isEmpty, !input.reference.isEmpty {
            func scaled(_ v: [Float]) -> [Float] {
                v.indices.map { Finite.scaled((v[$0] - input.scaler.min[$0 % D]) / input.scaler.range($0 % D)) }
            }
            let c = Self.completion(values: scaled(input.values), reference: scaled(input.reference), sensors: D, band: band)
            completion = c
        }
        // An aborted cycle ended early: compare it with the same stretch of the reference.
        if input.aborted && input.values.count < input.reference.count {
            input.reference = Array(input.reference[0..<input.values.count])
        }
        precondition(D > 0 && input.values.count % D == 0 && input.reference.count % D == 0, "values are not whole rows")
        let n = input.values.count / D, m = input.reference.count / D
        precondition(n > 0 && m > 0 && input.times.count == n, "empty cycle or times do not match rows")
        let sg = SavitzkyGolay()
        func column(_ v: [Float], _ rows: Int, _ j: Int) -> [Float] {
            sg.smooth((0..<rows).map { Finite.scaled((v[$0 * D + j] - input.scaler.min[j]) / input.scaler.range(j)) })
        }
        let band = Self.band(n, m)
        var reports = [SensorReport?](repeating: nil, count: D)
        reports.withUnsafeMutableBufferPointer { out in
            let ranges = shardRanges(D, parts: threads)
            parallelFor(ranges.count) { part in
                for j in ranges[part] {
                    let x = column(input.values, n, j), r = column(input.reference, m, j)
                    let xr = resample(x, to: m)
                    var sq = 0.0, maxDev = 0.0, sumDev = 0.0
                    for k in 0..<m {
                        let d = Double(xr[k] - r[k])
                        sq += d * d; maxDev = max(maxDev, abs(d)); sumDev += abs(d)
                    }
                    let dtw = DTW.distance(x, r, window: band)
                    var eP: Double?, dP: Double?
                    if let prev = input.previous, prev.count >= D {
                        let p = column(prev, prev.count / D, j)
                        let xp = resample(x, to: p.count)
                        eP = zip(xp, p).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
                        dP = DTW.distance(x, p, window: Self.band(n, p.count))
                    }
                    let q = dtw * dtw / Double(max(n, m))
                    let scale = input.dtwThreshold.map { Double(max($0[j], 1e-9)) } ?? fallbackThreshold
                    let bx = Spectrum.bandShares(x), br = Spectrum.bandShares(r)
                    out[j] = SensorReport(
                        sensor: input.sensors[j], euclideanToReference: sq.squareRoot(), dtwToReference: dtw,
                        euclideanToPrevious: eP, dtwToPrevious: dP, maxDeviation: maxDev, meanDeviation: sumDev / Double(m),
                        bandDifference: zip(bx, br).map { Finite.score($0 - $1) }, ratio: Finite.score(q / scale), contribution: 0)
                }
            }
        }
        var sensors = reports.map { $0! }
        let total = sensors.reduce(0.0) { $0 + $1.ratio * $1.ratio }
        for j in sensors.indices { sensors[j].contribution = total > 0 ? sensors[j].ratio * sensors[j].ratio / total : 0 }
        let length: Double? = input.lengthRange.map { Self.lengthRatio(rows: n, range: $0) }
        let completionRatio = completion.map { Self.completionRatio($0, low: input.completionLow!) }
        let lengthTerm = length.map { min($0, 10) * min($0, 10) } ?? 0
            + (completionRatio.map { min($0, 10) * min($0, 10) } ?? 0)
        let meanSq = sensors.reduce(0.0) { $0 + min($1.ratio, 10) * min($1.ratio, 10) } / Double(D) + lengthTerm
        let health = (1000 * exp(-0.5 * meanSq)).rounded() / 10
        let worst = max(sensors.map(\.ratio).max() ?? 0, length ?? 0, completionRatio ?? 0)
        let severity: Severity = worst <= 1 ? .normal : worst <= input.criticalFactor ? .warning : .critical
        sensors.sort { $0.contribution > $1.contribution }

        // The display path aligns block means of at most ~1,000 rows; indices are mapped back.
        let factor = max(1, (max(n, m) + 999) / 1000)
        func blocks(_ v: [Float], _ rows: Int) -> [Float] {
            let b = (rows + factor - 1) / factor
            var out = [Float](repeating: 0, count: b * D)
            for k in 0..<b {
                let lo = k * factor, hi = min(rows, lo + factor)
                for j in 0..<D {
                    var s: Float = 0
                    for r in lo..<hi { s += Finite.scaled((v[r * D + j] - input.scaler.min[j]) / input.scaler.range(j)) }
                    out[k * D + j] = s / Float(hi - lo)
                }
            }
            return out
        }
        let coarse = DTW.warpingPath(blocks(input.values, n), blocks(input.reference, m), dimensions: D,
                                     window: max(2, band / factor))
        let path = coarse.path.map { [min(n - 1, $0.0 * factor), min(m - 1, $0.1 * factor)] }

        var report = CycleReport(sensors: sensors, healthScore: health, severity: severity, rows: n, referenceRows: m,
                                 recommendations: [], lastRows: nil, lastRowsTimes: nil, stopCause: nil,
                                 stopCauseDetail: nil, path: path)
        report.sensorNames = input.sensors
        report.lengthRatio = length
        report.completion = completion
        report.completionRatio = completionRatio
        report.normalLength = input.lengthRange.map { [$0.lowerBound, $0.upperBound] }
        if input.aborted { report.diagnoseStop(input) }
        report.recommendations = report.recommend(input.criticalFactor)
        return report
    }

    private mutating func diagnoseStop(_ input: CycleReportInput) {
        let D = input.sensors.count, n = input.times.count
        let end = input.times[n - 1]
        let first = input.times.firstIndex { $0 >= end - Self.lastSeconds } ?? 0
        lastRows = Array(input.values[(first * D)...])
        lastRowsTimes = Array(input.times[first...])
        let tail = n - first
        // A sensor fault: one sensor stuck (no variation at all) or far outside its training range
        // at the end, while the reference varies there.
        var faults: [String] = []
        for j in 0..<D {
            let v = (first..<n).map { Finite.scaled((input.values[$0 * D + j] - input.scaler.min[j]) / input.scaler.range(j)) }
            let lo = v.min()!, hi = v.max()!
            let stuck = tail >= 5 && hi - lo < 1e-6 && refVariation(input, j) > 0.05
            let wild = lo < -1 || hi > 2
            if stuck || wild { faults.append("\(input.sensors[j]) \(stuck ? "stuck at a constant value" : "far outside its training range")") }
        }
        let deviating = sensors.filter { $0.ratio > 1 }.map(\.sensor)
        if faults.count == 1 || (faults.count >= 1 && faults.count < D / 2 + 1 && deviating.count <= faults.count) {
            stopCause = .sensorFault
            stopCauseDetail = "sensor fault: " + faults.joined(separator: "; ")
        } else if deviating.count >= 2 || !faults.isEmpty {
            stopCause = .process
            stopCauseDetail = "process: \(deviating.count) sensors deviated from the reference (\(deviating.prefix(4).joined(separator: ", ")))"
        } else {
            stopCause = .connectionLoss
            stopCauseDetail = "connection loss: the data looked normal until it stopped after \(n) rows"
        }
    }

    private func refVariation(_ input: CycleReportInput, _ j: Int) -> Float {
        let D = input.sensors.count, m = input.reference.count / D
        var lo = Float.infinity, hi = -Float.infinity
        for k in 0..<m {
            let v = Finite.scaled((input.reference[k * D + j] - input.scaler.min[j]) / input.scaler.range(j))
            lo = min(lo, v); hi = max(hi, v)
        }
        return hi - lo
    }

    private func recommend(_ criticalFactor: Double) -> [String] {
        var out: [String] = []
        for s in sensors where s.ratio > 1 {
            let level = s.ratio > criticalFactor ? "Inspect" : "Watch"
            out.append("\(level) \(s.sensor): \(String(format: "%.1f", s.ratio))× its DTW threshold, \(percent(s.contribution)) % of the deviation")
        }
        if let c = completionRatio, c > 1, let share = completion {
            out.append("Check where the cycle stopped: its end matches \(Int((share * 100).rounded())) % of the reference cycle, earlier than normal cycles end")
        }
        if let l = lengthRatio, l > 1, let range = normalLength {
            out.append("Check the cycle's course: \(rows) rows, outside the normal \(range[0])–\(range[1]) rows (\(String(format: "%.1f", l))× the tolerance)")
        }
        if let stopCause {
            switch stopCause {
            case .connectionLoss: out.append("Check the edge device's network connection and buffer")
            case .sensorFault: out.append("Check the wiring and calibration of the named sensor before restarting")
            case .process: out.append("Review the process conditions before the stop")
            }
        }
        if out.isEmpty { out.append("No action needed: every sensor within its threshold") }
        return out
    }
}

/// A share as a whole percentage (0–100; a share that is not a number counts as 0).
func percent(_ share: Double) -> Int {
    share.isFinite ? Int((min(max(share, 0), 1) * 100).rounded()) : 0
}

/// Linear resampling of a series to `count` points (endpoints kept).
func resample(_ x: [Float], to count: Int) -> [Float] {
    guard x.count > 1, count > 1 else { return [Float](repeating: x.first ?? 0, count: count) }
    let scale = Double(x.count - 1) / Double(count - 1)
    return (0..<count).map { k in
        let pos = Double(k) * scale
        let i = min(Int(pos), x.count - 2)
        let f = Float(pos - Double(i))
        return x[i] * (1 - f) + x[i + 1] * f
    }
}
