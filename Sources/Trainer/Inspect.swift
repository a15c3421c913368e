import ArgumentParser
import Foundation
import Model

/// `vertac-train inspect`: what a model file holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a model file: sensors, architecture, thresholds, reference, training.")

    @Argument(help: "Model file (.h5).") var model: String

    func run() throws {
        let f = try ModelFile.read(from: model)
        let m = f.model
        print("\(model): VerTac LSTM autoencoder, format_version \(ModelFile.formatVersion)")
        print("  created \(f.createdAt) by vertac-train \(f.trainerVersion)")
        print("  architecture: window \(m.window), \(m.sensors) sensors, hidden \(m.hidden), 1 layer, loss \(f.loss.rawValue), \(m.parameters.count) parameters")
        print(String(format: "  thresholds: %@, percentile %g; window threshold %.6f", f.calibration.method, f.calibration.percentile, f.calibration.windowThreshold))
        let width = max(6, f.sensors.map(\.count).max() ?? 6)
        print("  " + "sensor".padding(toLength: width, withPad: " ", startingAt: 0) + "   scaler min   scaler max  error thr.   DTW thr.")
        for j in f.sensors.indices {
            let dtw = f.reference.map { String(format: "%10.6f", $0.dtwThreshold[j]) } ?? "         —"
            print("  " + f.sensors[j].padding(toLength: width, withPad: " ", startingAt: 0) +
                  String(format: " %12.5g %12.5g %11.6f %@", f.scaler.min[j], f.scaler.max[j], f.calibration.sensorThreshold[j], dtw))
        }
        if let r = f.reference {
            print("  reference cycle: \(r.length) rows, live DTW band ±\(r.band) rows")
        } else {
            print("  reference cycle: none")
        }
        let t = f.training
        print(String(format: "  training: %d windows, %d cycles, %d epochs, %.1f s; final loss %@, validation %@",
                     t.windows, t.cycles, t.epochs, t.seconds,
                     t.loss.last.map { String(format: "%.6f", $0) } ?? "—", t.validationLoss.last.map { String(format: "%.6f", $0) } ?? "—"))
        print("  data SHA-256: \(t.dataSHA256.isEmpty ? "—" : t.dataSHA256)")
    }
}
