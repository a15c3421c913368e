import ArgumentParser
import Foundation
import Model
import TrainerKit

/// `vertac-train evaluate`: detection quality on labelled data.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate detection on labelled CSV files (anomaly column), or run the SKAB leaderboard protocol.",
        discussion: """
        With --model: each cycle is replayed through the live pipeline; row r is flagged when the window ending at r \
        has a sensor score above 1 (reconstruction error or live DTW deviation over its threshold) or a window score \
        above the window threshold; the first T−1 rows of a cycle are never flagged. Prints precision, recall, F1, \
        FAR and MAR per file and overall.
        With --protocol skab DIR: every labelled file under DIR/valve1, valve2 and other gets a fresh model on its \
        first 400 rows and is tested on the rest (see README, "SKAB").
        """
    )

    @Option(help: "Model file (not with --protocol).") var model: String?
    @Option(help: "Run a benchmark protocol: skab.") var `protocol`: String?
    @Argument(help: "Labelled CSV files, or with --protocol skab the data folder.") var inputs: [String]
    @Option(help: "Write per-row decisions to this CSV file.") var predictions: String?
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "SKAB: only the first N files (for quick runs).") var limit: Int?
    @OptionGroup var skab: SKABOptions

    func validate() throws {
        switch (model, `protocol`) {
        case (nil, nil): throw ValidationError("give --model M.h5, or --protocol skab")
        case (.some, .some): throw ValidationError("--model and --protocol exclude each other")
        case (nil, .some(let p)) where p != "skab": throw ValidationError("unknown protocol \"\(p)\" (known: skab)")
        case (nil, .some): guard inputs.count == 1 else { throw ValidationError("--protocol skab takes one data folder") }
        default: break
        }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        if `protocol` != nil { try runSKAB() } else { try runModel() }
    }

    private func printRow(_ name: String, _ c: Confusion, width: Int) {
        print(name.padding(toLength: width, withPad: " ", startingAt: 0) +
              String(format: " %9.3f %7.3f %6.3f %7.2f %7.2f %7d %6d %6d %7d", c.precision, c.recall, c.f1, c.far, c.mar, c.tp, c.fp, c.fn, c.tn))
    }

    private func header(_ width: Int) {
        print("file".padding(toLength: width, withPad: " ", startingAt: 0) + " precision  recall     F1   FAR %   MAR %      TP     FP     FN      TN")
    }

    private func runModel() throws {
        let file = try ModelFile.read(from: model!)
        let paths = try Dataset.expand(inputs)
        var total = Confusion()
        var rowsOut = "file,row,datetime,anomaly,prediction\n"
        var perFile: [(String, Confusion)] = []
        for path in paths {
            let table = try CSVTable.read(path)
            guard let labels = table.anomaly else { throw CSVError(path: path, line: 1, message: "no anomaly column to evaluate against") }
            var predictions: [Float] = []
            for c in try Dataset.split(table, sensors: file.sensors) {
                predictions += ModelScoring.decisions(file, values: c.values, rows: c.rows, threads: threads)
            }
            let conf = Confusion(labels: labels, predictions: predictions)
            perFile.append((path, conf))
            total = total + conf
            for r in 0..<table.rows { rowsOut += "\(csvField(path)),\(r),\(csvField(table.timeText?[r] ?? "")),\(Int(labels[r])),\(Int(predictions[r]))\n" }
        }
        let width = max(8, perFile.map(\.0.count).max() ?? 8)
        header(width)
        for (p, c) in perFile { printRow(p, c, width: width) }
        printRow("overall", total, width: width)
        if let predictions { try rowsOut.write(toFile: predictions, atomically: true, encoding: .utf8) }
    }

    private func runSKAB() throws {
        let root = inputs[0]
        var files = try SKABProtocol.files(in: root)
        if let limit { files = Array(files.prefix(limit)) }
        var s = skab.settings
        s.threads = threads
        let t0 = Date()
        FileHandle.standardError.write(Data("SKAB protocol on \(files.count) file(s) under \(root)\n".utf8))
        let result = try SKABProtocol.run(root: root, files: files, settings: s) {
            FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8))
        }
        let width = max(14, files.map(\.count).max() ?? 14)
        header(width)
        for f in result.files { printRow(f.file, f.confusion, width: width) }
        printRow("overall", result.total, width: width)
        let t = result.total
        print("")
        print("Outlier detection, \(files.count) file(s) (the full benchmark has 34; published figures are on all 34):")
        print(String(format: "  VerTac LSTM-AE     F1 %.2f   FAR %5.2f %%   MAR %5.2f %%", t.f1, t.far, t.mar))
        print("  published LSTM-AE  F1 0.74   FAR 29.96 %   MAR 25.92 %")
        print("  published best     F1 0.78   FAR 13.55 %   MAR 28.02 %  (Conv-AE)")
        print(String(format: "Changepoints (NAB Standard / LowFP / LowFN): VerTac %.2f / %.2f / %.2f", result.nab[0], result.nab[1], result.nab[2]))
        print("  published LSTM-AE 23.51 / 20.11 / 25.91; best Standard 32.42 (MSCRED)")
        print("Settings: window \(s.window), hidden \(s.hidden), score \(s.score.rawValue), smoothing \(s.smoothing), " +
              "trend limit \(s.trendLimit.map { "\($0)" } ?? "off"), " +
              "threshold \(s.margin) × p\(s.percentile) of training scores, \(s.consecutive) consecutive windows; " +
              String(format: "%.0f s", Date().timeIntervalSince(t0)))
        if let predictions {
            var out = "file,row,datetime,anomaly,prediction\n"
            for p in result.predictions { out += "\(p.file),\(p.row),\(csvField(p.datetime)),\(Int(p.anomaly)),\(Int(p.prediction))\n" }
            try out.write(toFile: predictions, atomically: true, encoding: .utf8)
        }
    }
}

/// The SKAB protocol's choices (defaults are the documented ones; change them only to study their effect).
struct SKABOptions: ParsableArguments {
    @Option(name: .customLong("skab-window"), help: "SKAB: window length.") var window: Int?
    @Option(name: .customLong("skab-hidden"), help: "SKAB: hidden units.") var hidden: Int?
    @Option(name: .customLong("skab-smoothing"), help: "SKAB: rolling mean of window scores.") var smoothing: Int?
    @Option(name: .customLong("skab-consecutive"), help: "SKAB: consecutive windows above threshold.") var consecutive: Int?
    @Option(name: .customLong("skab-margin"), help: "SKAB: threshold margin.") var margin: Float?
    @Option(name: .customLong("skab-percentile"), help: "SKAB: threshold percentile.") var percentile: Double?
    @Option(name: .customLong("skab-score"), help: "SKAB: window or max-sensor.") var score: String?
    @Option(name: .customLong("skab-epochs"), help: "SKAB: most epochs.") var epochs: Int?
    @Option(name: .customLong("skab-trend-limit"), help: "SKAB: leave sensors trending in the training rows (|ρ| ≥ this) out of the score; 0 turns it off.") var trendLimit: Double?

    var settings: SKABSettings {
        var s = SKABSettings()
        if let window { s.window = window }
        if let hidden { s.hidden = hidden }
        if let smoothing { s.smoothing = smoothing }
        if let consecutive { s.consecutive = consecutive }
        if let margin { s.margin = margin }
        if let percentile { s.percentile = percentile }
        if let score, let v = SKABSettings.Score(rawValue: score) { s.score = v }
        if let epochs { s.epochs = epochs }
        if let trendLimit { s.trendLimit = trendLimit > 0 ? trendLimit : nil }
        return s
    }
}
