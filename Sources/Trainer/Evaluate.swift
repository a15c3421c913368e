import ArgumentParser
import Foundation
import Inference
import Model
import TrainerKit

/// `vertac-train evaluate`: detection quality on labelled data.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate detection on labelled CSV files (anomaly column), or run the SKAB leaderboard protocol.",
        discussion: """
        With --model: each cycle (a file, or each cycle_id in it; .csv or .csv.gz) is replayed through the live \
        pipeline, rows timed by the file's time column (or their index as seconds): the server's cycle and sensor state \
        machines, maintenance policy and post-cycle report. Row r is flagged when the window ending at r has a sensor \
        score above 1 (reconstruction error or live DTW deviation over its threshold) or a window score above the window \
        threshold; the first T−1 rows of a cycle are never flagged. A cycle is flagged when it raised a maintenance event \
        or its report's severity is above normal; its score is the larger of the smallest factor on every threshold at \
        which the state machines would raise no event, and the report's largest ratio (a sensor's whole-cycle deviation \
        or the length): above 1 the cycle is flagged.
        Prints precision, recall, F1, FAR and MAR of the row flags per file and overall; the ROC AUC of the row scores; \
        and at cycle level (a cycle is anomalous when any of its rows is): precision, recall and F1 of the anomalous \
        class, macro F1, ROC AUC of the cycle score, and counts.
        Every file needs an anomaly column, except when --cycles, --scores or --events is given: then a file without \
        one is scored and written (anomaly left empty) and left out of every metric.
        With --protocol skab DIR: every labelled file under DIR/valve1, valve2 and other gets a fresh model on its \
        first 400 rows and is tested on the rest (see README, "SKAB").
        """
    )

    @Option(help: "Model file (not with --protocol).") var model: String?
    @Option(help: "Run a benchmark protocol: skab.") var `protocol`: String?
    @Argument(help: "Labelled CSV files, or with --protocol skab the data folder.") var inputs: [String]
    @Option(help: "Write per-row decisions to this CSV file: file,row,datetime,anomaly,prediction (row counted over the file).") var predictions: String?
    @Option(help: "With --model: one line per cycle to this CSV file: file,cycle_id,rows,score,health,flagged.") var cycles: String?
    @Option(help: "With --model: one line per row to this CSV file: file,cycle_id,row,anomaly,flag,score, then the score of each model sensor (row counted in its cycle; scores empty for rows that end no window).")
    var scores: String?
    @Option(help: "With --model: one line per maintenance event opened or escalated to this CSV file: file,cycle_id,row,time,sensor,severity,top_sensors,kind.")
    var events: String?
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
        if `protocol` != nil && (cycles != nil || scores != nil || events != nil) {
            throw ValidationError("--cycles, --scores and --events go with --model")
        }
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
        let D = file.model.sensors
        let unlabelledAllowed = cycles != nil || scores != nil || events != nil
        let cycleOut = try cycles.map { try CSVFileWriter(path: $0, header: "file,cycle_id,rows,score,health,flagged") }
        let rowOut = try scores.map {
            try CSVFileWriter(path: $0, header: "file,cycle_id,row,anomaly,flag,score," + file.sensors.map(csvField).joined(separator: ","))
        }
        let eventOut = try events.map { try CSVFileWriter(path: $0, header: "file,cycle_id,row,time,sensor,severity,top_sensors,kind") }
        let predictionOut = try predictions.map { try CSVFileWriter(path: $0, header: "file,row,datetime,anomaly,prediction") }
        var total = Confusion()
        var perFile: [(String, Confusion)] = []
        var summary = EvaluationSummary()
        let scorer = BatchScorer(model: file, threads: threads)
        for path in paths {
            let table = try CSVTable.read(path)
            guard table.anomaly != nil || unlabelledAllowed else {
                throw CSVError(path: path, line: 1, message: "no anomaly column to evaluate against")
            }
            let name = csvField(path)
            var flags: [Bool] = []
            for c in try Dataset.split(table, sensors: file.sensors) {
                let outcome = CycleEvaluator.evaluate(model: file, values: c.values, rows: c.rows, times: c.times, threads: threads, scorer: scorer)
                let id = c.cycleID ?? CycleRecord.fileCycleID(path)
                summary.add(outcome, file: path, cycleID: id, labels: c.anomaly)
                flags += outcome.flags
                let cycle = name + "," + csvField(id)
                // (A local copy: `outcome.health.map` inline crashes the release compiler's ownership check.)
                let healthText = outcome.report.map { "\($0.healthScore)" } ?? ""
                try cycleOut?.line(cycle + ",\(c.rows),\(outcome.score),\(healthText),\(outcome.flagged ? 1 : 0)")
                if let rowOut {
                    for r in 0..<c.rows {
                        var line = cycle + ",\(r),\(c.anomaly.map { "\(Int($0[r]))" } ?? ""),\(outcome.flags[r] ? 1 : 0),"
                        if let score = outcome.rowScores[r] {
                            line += "\(score)"
                            for j in 0..<D { line += ",\(outcome.sensorScores[r * D + j])" }
                        } else {
                            line += String(repeating: ",", count: D)
                        }
                        try rowOut.line(line)
                    }
                }
                for e in outcome.events {
                    let time = c.timeText?[e.row] ?? (e.time == e.time.rounded() ? "\(Int(e.time))" : "\(e.time)")
                    try eventOut?.line(cycle + ",\(e.row),\(csvField(time)),\(csvField(e.sensor)),\(e.severity.rawValue)," +
                                       csvField(e.topSensors.joined(separator: ";")) + ",\(e.kind.rawValue)")
                }
            }
            if let labels = table.anomaly {
                let conf = Confusion(labels: labels, predictions: flags.map { $0 ? 1 : 0 })
                perFile.append((path, conf))
                total = total + conf
            }
            for r in 0..<table.rows {
                try predictionOut?.line("\(name),\(r),\(csvField(table.timeText?[r] ?? "")),\(table.anomaly.map { "\(Int($0[r]))" } ?? ""),\(flags[r] ? 1 : 0)")
            }
        }
        for out in [cycleOut, rowOut, eventOut, predictionOut] { try out?.finish() }
        guard !perFile.isEmpty else {
            print("\(summary.cycles.count) cycle(s) in \(paths.count) file(s), none with an anomaly column: no metrics")
            return
        }
        let width = max(8, perFile.map(\.0.count).max() ?? 8)
        header(width)
        for (p, c) in perFile { printRow(p, c, width: width) }
        printRow("overall", total, width: width)
        printSummary(summary, unlabelledFiles: paths.count - perFile.count)
    }

    private func printSummary(_ s: EvaluationSummary, unlabelledFiles: Int) {
        func auc(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "n/a (one class only)" }
        print("")
        print("Rows: ROC AUC \(auc(s.rowAUC)) (row score = largest sensor score of the window ending at the row; \(s.scoredRows) rows scored)")
        let labelled = s.labelled, c = s.cycleConfusion
        let anomalous = labelled.count(where: { $0.anomalous == true }), flagged = labelled.count(where: \.flagged)
        print("Cycles: \(labelled.count), anomalous \(anomalous), flagged \(flagged)" +
              (unlabelledFiles > 0 ? " (\(unlabelledFiles) file(s) without an anomaly column left out)" : ""))
        print(String(format: "  anomalous class: precision %.3f  recall %.3f  F1 %.3f;  macro F1 %.3f;  accuracy %.3f",
                     c.precision, c.recall, c.f1, c.macroF1, c.accuracy))
        print("  ROC AUC of the cycle score \(auc(s.cycleAUC))")
        let (events, normal) = s.normalCycleEvents
        print(normal > 0
              ? String(format: "  events in normal cycles: %.1f per 100 normal cycles (%d in %d)", 100 * Double(events) / Double(normal), events, normal)
              : "  events in normal cycles: n/a (no normal cycles)")
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
