import ArgumentParser
import Foundation
import Model
import TrainerKit

/// `vertac-train calibrate`: new thresholds for a trained model from normal cycles.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Calibrate a trained model again on normal cycles (keeps its network, scaler and reference cycle).",
        discussion: """
        Replays every cycle through the live pipeline and sets the golden-cycle envelope, the event-level factor, the \
        report thresholds and the normal length range as `fit` does (README, "Calibration"); every cycle counts as \
        unseen, so give cycles the model was not trained on. Prints what the calibration measured.
        """
    )

    @Option(help: "Model file to calibrate.") var model: String
    @Argument(help: "CSV files or folders of normal cycles.") var inputs: [String]
    @Option(name: .long, help: "Model file to write (.h5).") var out: String
    @Option(help: "Target false maintenance events per normal cycle.") var falseEventRate = 0.01
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard falseEventRate > 0 && falseEventRate < 1 else { throw ValidationError("--false-event-rate must be in (0, 1)") }
        guard out.hasSuffix(".h5") else { throw ValidationError("--out must end in .h5") }
    }

    func run() throws {
        let file = try ModelFile.read(from: model)
        let data = try Dataset.load(inputs, sensors: file.sensors)
        var s = FitSettings()
        (s.threads, s.falseEventRate) = (threads, falseEventRate)
        let t0 = Date()
        let (calibrated, summary) = try Fitter.recalibrate(file, data: data, settings: s)
        try calibrated.write(to: out)
        print("wrote \(out): \(calibrated.calibration.method)")
        print(summary)
        if let l = calibrated.reference?.lengthRange { print("normal length \(l.lowerBound)–\(l.upperBound) rows") }
        print(String(format: "%.1f s", Date().timeIntervalSince(t0)))
    }
}
