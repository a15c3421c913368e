import Foundation
import Model

/// The SKAB leaderboard protocol with VerTac's LSTM autoencoder
/// (`../shared/datasets/skab/README.md`): every labelled file is its own experiment — a fresh
/// model on its first 400 rows, tested point-wise on the rest, counts summed over files.
///
/// Choices beyond the published baseline, the same for every file and using no label of a test
/// part (see ``SKABSettings``): window length, hidden size, the score, its smoothing, the
/// threshold rule and the consecutive-window rule.
public struct SKABSettings: Sendable, Equatable {
    /// Rows of each experiment used for training.
    public var trainRows = 400
    public var window = 10
    public var hidden = 64
    public var epochs = 100
    public var patience = 5
    public var batch = 32
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 0
    public var threads = 1
    /// Threshold = margin × this percentile of the training rows' scores.
    public var percentile = 99.0
    public var margin: Float = 1.5
    /// Rolling mean over this many consecutive window scores before thresholding (1: none).
    public var smoothing = 10
    /// A row is flagged when the smoothed scores of this many consecutive windows ending at it
    /// all exceed the threshold (the baseline: 10, "the 9 preceding windows").
    public var consecutive = 1
    /// The score: the window score (mean per-sensor error) or the largest per-sensor error ratio.
    public var score: Score = .window
    /// Sensors whose training rows trend with time (|Spearman ρ(row, value)| at least this) are
    /// left out of the score: a trend continues past the training rows, so its growing error says
    /// nothing about the machine (SKAB's temperatures warm up through each experiment). nil: off.
    public var trendLimit: Double? = 0.5

    public enum Score: String, Sendable, CaseIterable { case window, maxSensor = "max-sensor" }

    public init() {}
}

/// One experiment's outcome.
public struct SKABFileResult: Sendable {
    public var file: String
    public var confusion: Confusion
    public var testRows: Int
    public var epochs: Int
    public var seconds: Double
}

public struct SKABResult: Sendable {
    public var files: [SKABFileResult]
    public var total: Confusion
    public var nab: [Double]
    /// Predictions per file: (file, row, datetime, anomaly, prediction) for every test row.
    public var predictions: [(file: String, row: Int, datetime: String, anomaly: Float, prediction: Float)]
}

public enum SKABProtocol {
    /// The labelled files under `root`, relative names such as `valve1/0.csv`, in order.
    public static func files(in root: String) throws -> [String] {
        var out: [String] = []
        for group in ["valve1", "valve2", "other"] {
            let dir = (root as NSString).appendingPathComponent(group)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            out += names.filter(Dataset.isCSVName)
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
                .map { "\(group)/\($0)" }
        }
        guard !out.isEmpty else { throw CSVError(path: root, message: "no labelled files under valve1/, valve2/ or other/") }
        return out
    }

    /// Runs the protocol over `files` (relative to `root`).
    public static func run(root: String, files: [String], settings s: SKABSettings,
                           progress: (String) -> Void = { _ in }) throws -> SKABResult {
        var results: [SKABFileResult] = []
        var nab = NABScore()
        var predictions: [(String, Int, String, Float, Float)] = []
        for name in files {
            let t0 = Date()
            let table = try CSVTable.read((root as NSString).appendingPathComponent(name))
            guard let labels = table.anomaly, let changes = table.changepoint, let times = table.times else {
                throw CSVError(path: table.path, message: "needs datetime, anomaly and changepoint columns")
            }
            guard table.rows > s.trainRows + s.window else {
                throw CSVError(path: table.path, message: "\(table.rows) rows: too few for \(s.trainRows) training rows")
            }
            let D = table.sensors.count
            let train = Cycle(source: name, values: Array(table.values[0..<(s.trainRows * D)]), rows: s.trainRows)
            var fit = FitSettings()
            (fit.window, fit.hidden, fit.epochs, fit.batch, fit.patience) = (s.window, s.hidden, s.epochs, s.batch, s.patience)
            (fit.learningRate, fit.seed, fit.threads, fit.percentile, fit.margin) = (s.learningRate, s.seed, s.threads, s.percentile, s.margin)
            let result = try Fitter.fit(Dataset(sensors: table.sensors, cycles: [train]), settings: fit,
                                        createdAt: "", trainerVersion: "skab")
            let model = result.file
            // Scores over the whole file (the test part's first windows reach back into the training rows).
            let windows = ModelScoring.score(model, values: table.values, rows: table.rows, threads: s.threads)
            let kept = keptSensors(table.values, rows: s.trainRows, sensors: D, limit: s.trendLimit)
            let raw: [Float] = windows.map { w in
                switch s.score {
                case .window: return kept.reduce(0) { $0 + w.errors[$1] } / Float(kept.count)
                case .maxSensor: return w.errors.indices.map { w.errors[$0] / model.calibration.sensorThreshold[$0] * s.margin }.max()!
                }
            }
            let smoothed = rollingMean(raw, s.smoothing)
            // Threshold from the training rows' windows only.
            let trainWindows = windows.filter { $0.endRow < s.trainRows }.count
            let threshold = s.margin * Percentile.of(Array(smoothed[0..<trainWindows]), s.percentile)
            var prediction = [Float](repeating: 0, count: table.rows)
            var run = 0
            for (k, w) in windows.enumerated() {
                run = smoothed[k] > threshold ? run + 1 : 0
                if run >= s.consecutive { prediction[w.endRow] = 1 }
            }
            let test = s.trainRows..<table.rows
            let confusion = Confusion(labels: Array(labels[test]), predictions: Array(prediction[test]))
            nab.add(times: Array(times[test]), changepoints: Array(changes[test]), predictions: Array(prediction[test]))
            for r in test { predictions.append((name, r, table.timeText?[r] ?? "", labels[r], prediction[r])) }
            let seconds = Date().timeIntervalSince(t0)
            results.append(SKABFileResult(file: name, confusion: confusion, testRows: test.count,
                                          epochs: model.training.epochs, seconds: seconds))
            progress(String(format: "%@: F1 %.3f, FAR %.1f %%, MAR %.1f %% (%d epochs, %.1f s)", name,
                            confusion.f1, confusion.far, confusion.mar, model.training.epochs, seconds))
        }
        return SKABResult(files: results, total: results.reduce(Confusion()) { $0 + $1.confusion },
                          nab: nab.normalised, predictions: predictions.map { (file: $0.0, row: $0.1, datetime: $0.2, anomaly: $0.3, prediction: $0.4) })
    }

    /// Sensors whose first `rows` values do not trend with time (all when `limit` is nil; at least one).
    static func keptSensors(_ values: [Float], rows: Int, sensors D: Int, limit: Double?) -> [Int] {
        guard let limit else { return Array(0..<D) }
        let kept = (0..<D).filter { j in abs(spearman((0..<rows).map { values[$0 * D + j] })) < limit }
        return kept.isEmpty ? Array(0..<D) : kept
    }

    /// Spearman rank correlation of a series with its index (ties get their mean rank).
    static func spearman(_ x: [Float]) -> Double {
        let n = x.count
        guard n > 2 else { return 0 }
        let order = x.indices.sorted { x[$0] < x[$1] }
        var ranks = [Double](repeating: 0, count: n)
        var i = 0
        while i < n {
            var j = i
            while j + 1 < n && x[order[j + 1]] == x[order[i]] { j += 1 }
            for k in i...j { ranks[order[k]] = Double(i + j) / 2 }
            i = j + 1
        }
        let mean = Double(n - 1) / 2
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for k in 0..<n {
            let a = Double(k) - mean, b = ranks[k] - mean
            sxy += a * b; sxx += a * a; syy += b * b
        }
        return syy == 0 ? 0 : sxy / (sxx * syy).squareRoot()
    }

    static func rollingMean(_ x: [Float], _ k: Int) -> [Float] {
        guard k > 1 else { return x }
        var out = [Float](repeating: 0, count: x.count)
        var sum: Float = 0
        for i in x.indices {
            sum += x[i]
            if i >= k { sum -= x[i - k] }
            out[i] = sum / Float(min(i + 1, k))
        }
        return out
    }
}
