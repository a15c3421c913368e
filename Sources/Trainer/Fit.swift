import ArgumentParser
import Foundation
import Model
import TrainerKit

extension Loss: ExpressibleByArgument {}

/// `vertac-train fit`: trains, calibrates and writes a model file and its report.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an LSTM autoencoder on CSV files of normal cycles and write the model (HDF5) and its report.",
        discussion: """
        Reads the CSV dialect of DESIGN.md (',' or ';', a timestamp/time/datetime column, anomaly and changepoint \
        labels ignored, cycle_id splitting files into cycles). Writes FILE.h5, FILE.report.md and FILE.loss.svg.
        """
    )

    @Argument(help: "CSV files or folders of normal cycles.") var inputs: [String]
    @Option(name: .long, help: "Model file to write (.h5).") var out: String
    @Option(help: "Window length T (rows).") var window = 30
    @Option(help: "LSTM hidden units H.") var hidden = 64
    @Option(help: "Most epochs.") var epochs = 50
    @Option(help: "Batch size.") var batch = 32
    @Option(help: "Adam learning rate.") var lr: Float = 0.001
    @Option(help: "Loss: mae or mse.") var loss: Loss = .mae
    @Option(help: "Share held out for validation (whole cycles when there are several).") var valFraction = 0.1
    @Option(help: "Epochs without improvement before stopping.") var patience = 5
    @Option(help: "Threshold percentile.") var percentile = 99.0
    @Option(help: "Thresholds are this many times the percentile.") var margin: Float = 1.5
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Comma-separated sensor columns (default: every sensor column).") var sensors: String?
    @Option(help: "Rows between training windows.") var stride = 1
    @Option(help: "Most training windows per epoch (a fresh random subset each epoch when there are more).") var maxWindowsPerEpoch = 60_000
    @Option(help: "Target false maintenance events per normal cycle (with ≥ 2 cycles: the thresholds are calibrated to it).") var falseEventRate = 0.01
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard window > 1, hidden > 0, epochs > 0, batch > 0, stride > 0, threads > 0, patience > 0 else {
            throw ValidationError("window (> 1), hidden, epochs, batch, stride, threads and patience must be positive")
        }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") }
        guard (0..<1).contains(valFraction) else { throw ValidationError("--val-fraction must be in [0, 1)") }
        guard percentile > 0 && percentile <= 100 else { throw ValidationError("--percentile must be in (0, 100]") }
        guard maxWindowsPerEpoch > 0 else { throw ValidationError("--max-windows-per-epoch must be positive") }
        guard falseEventRate > 0 && falseEventRate < 1 else { throw ValidationError("--false-event-rate must be in (0, 1)") }
        guard margin >= 1 else { throw ValidationError("--margin must be at least 1") }
        guard out.hasSuffix(".h5") else { throw ValidationError("--out must end in .h5") }
    }

    func run() throws {
        let wanted = sensors.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let data = try Dataset.load(inputs, sensors: wanted)
        var hash = SHA256Digest()
        for f in data.files { hash.update([UInt8](FileManager.default.contents(atPath: f) ?? Data())) }
        var s = FitSettings()
        (s.window, s.hidden, s.epochs, s.batch, s.learningRate, s.loss) = (window, hidden, epochs, batch, lr, loss)
        (s.validationFraction, s.patience, s.percentile, s.margin, s.seed, s.stride, s.threads) =
            (valFraction, patience, percentile, margin, seed, stride, threads)
        (s.maxWindowsPerEpoch, s.falseEventRate) = (maxWindowsPerEpoch, falseEventRate)
        FileHandle.standardError.write(Data("""
        \(data.files.count) file(s), \(data.cycles.count) cycle(s), \(data.rows) rows, \(data.sensors.count) sensors: \(data.sensors.joined(separator: ", "))

        """.utf8))
        let bar = ProgressBar()
        let created = ISO8601DateFormatter().string(from: Date())
        let result = try Fitter.fit(data, settings: s, dataSHA256: hash.finalize(), createdAt: created,
                                    trainerVersion: VertacTrain.version, progress: bar.update)
        try result.file.write(to: out)
        let base = String(out.dropLast(3))
        let svgPath = base + ".loss.svg"
        try TrainingReport.lossSVG(result.file.training.loss, result.file.training.validationLoss, bestEpoch: result.bestEpoch)
            .write(toFile: svgPath, atomically: true, encoding: .utf8)
        try TrainingReport.markdown(result: result, settings: s, files: data.files, modelPath: out,
                                    svgName: (svgPath as NSString).lastPathComponent)
            .write(toFile: base + ".report.md", atomically: true, encoding: .utf8)
        print("wrote \(out) (best epoch \(result.bestEpoch) of \(result.file.training.epochs); " +
              String(format: "window threshold %.5f", result.file.calibration.windowThreshold) +
              (result.file.reference.map { "; reference cycle of \($0.length) rows" } ?? "; no reference cycle") + ")")
        print("report: \(base).report.md")
    }
}
