import Foundation
import Model
import Simulation
import Testing
@testable import TrainerKit
import Inference

/// Writes simulated cycles as CSV in the DESIGN.md dialect (one file, `cycle_id` column).
func writeCSV(_ cycles: [SimulatedCycle], to path: String, separator: String = ",") throws {
    var s = (["timestamp", "cycle_id"] + MachineSimulator.sensors + ["anomaly"]).joined(separator: separator) + "\n"
    var t0 = 1_767_225_600.0
    for (k, c) in cycles.enumerated() {
        for r in 0..<c.rows {
            let values = (0..<MachineSimulator.sensors.count).map { "\(c.values[r * MachineSimulator.sensors.count + $0])" }
            s += ([Timestamp.format(t0 + c.times[r]), "c\(k)"] + values + ["\(Int(c.anomaly[r]))"]).joined(separator: separator) + "\n"
        }
        t0 += c.times.last! + 30
    }
    try s.write(toFile: path, atomically: true, encoding: .utf8)
}

final class Scratch {
    let path = NSTemporaryDirectory() + "vertac-tk-" + UUID().uuidString
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ n: String) -> String { path + "/" + n }
}

@Suite(.serialized) struct EndToEndTests {
    static func settings() -> FitSettings {
        var s = FitSettings()
        (s.window, s.hidden, s.epochs, s.batch, s.stride, s.threads, s.patience, s.learningRate) = (16, 24, 30, 32, 2, 2, 5, 3e-3)
        return s
    }

    @Test func aSingleCycleIsCalibratedByMarginTimesPercentileOfItsHeldOutRows() throws {
        // One cycle: no reference, no envelope; the last tenth of its rows is held out.
        let sim = MachineSimulator(seed: 4, sampleRate: 4)
        let c = sim.cycle(0)
        let data = Dataset(sensors: MachineSimulator.sensors, cycles: [Cycle(source: "c0", values: c.values, rows: c.rows)])
        var s = Self.settings()
        s.epochs = 3
        let r = try Fitter.fit(data, settings: s, createdAt: "now", trainerVersion: "t")
        #expect(r.file.reference == nil && r.file.calibration.envelope == nil)
        let held = Int((Double(c.rows) * s.validationFraction).rounded())
        let D = MachineSimulator.sensors.count
        // Recompute by hand: the held-out rows' windows, scaled with the stored scaler.
        let windows = ModelScoring.score(r.file, values: Array(c.values[((c.rows - held) * D)...]), rows: held, stride: s.stride)
        #expect(windows.count == r.validationWindows && !windows.isEmpty)
        for j in 0..<D {
            let expected = s.margin * Percentile.of(windows.map { $0.errors[j] }, s.percentile)
            #expect(abs(r.file.calibration.sensorThreshold[j] - expected) <= 1e-6 * max(1, expected))
        }
        #expect(abs(r.file.calibration.windowThreshold - s.margin * Percentile.of(windows.map(\.score), s.percentile)) < 1e-6)
        #expect(r.file.calibration.method.hasPrefix("1.5 × percentile of validation windows"))
        // The scaler is fitted on the training rows only.
        let trainMax = (0..<(c.rows - held)).map { c.values[$0 * D] }.max()!
        #expect(r.file.scaler.max[0] == trainMax)
    }

    @Test func fitScoreEvaluateThroughTheLibrary() throws {
        let dir = Scratch()
        let sim = MachineSimulator(seed: 5)
        try writeCSV((0..<16).map { sim.cycle($0) }, to: dir.file("normal.csv"), separator: ";")
        let data = try Dataset.load([dir.path])
        #expect(data.cycles.count == 16 && data.sensors == MachineSimulator.sensors)
        let r = try Fitter.fit(data, settings: Self.settings(), dataSHA256: "x", createdAt: "now", trainerVersion: "t")
        try r.file.write(to: dir.file("m.h5"))
        let model = try ModelFile.read(from: dir.file("m.h5"))
        #expect(model.reference != nil && model.training.dataSHA256 == "x")

        // Fresh normal cycles: almost no flagged rows; a drifting sensor: its rows flagged.
        let fresh = MachineSimulator(seed: 6)
        try writeCSV((0..<3).map { fresh.cycle($0) }, to: dir.file("fresh.csv"))
        try writeCSV([fresh.cycle(9, fault: .drift(sensor: "flow", amount: 2.5))], to: dir.file("faulty.csv"))
        func evaluate(_ name: String) throws -> Confusion {
            let table = try CSVTable.read(dir.file(name))
            var predictions: [Float] = []
            for c in try Dataset.split(table, sensors: model.sensors) {
                predictions += ModelScoring.decisions(model, values: c.values, rows: c.rows)
            }
            return Confusion(labels: table.anomaly!, predictions: predictions)
        }
        let normal = try evaluate("fresh.csv")
        #expect(normal.far < 5, "false alarms on normal cycles: \(normal)")
        let faulty = try evaluate("faulty.csv")
        #expect(faulty.recall > 0.5, "drift: \(faulty)")
        #expect(faulty.precision > 0.8, "drift: \(faulty)")
    }

    @Test func tooShortDataIsAClearError() {
        let data = Dataset(sensors: ["a"], cycles: [Cycle(source: "x", values: [1, 2, 3], rows: 3)])
        do {
            _ = try Fitter.fit(data, settings: Self.settings(), createdAt: "", trainerVersion: "")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("no cycle has 16 rows"))
        }
    }

    /// `../shared/datasets/skab` beside the repository (or `VERTAC_SKAB_DIR`), when present.
    static let skabRoot: String? = {
        let root = ProcessInfo.processInfo.environment["VERTAC_SKAB_DIR"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/datasets/skab").standardized.path
        return FileManager.default.fileExists(atPath: root + "/valve1/0.csv") ? root : nil
    }()

    @Test(.enabled(if: skabRoot != nil, "SKAB data not found at ../shared/datasets/skab beside the repository (or VERTAC_SKAB_DIR)"))
    func skabProtocolOnTwoFiles() throws {
        let root = try #require(Self.skabRoot)
        let files = Array(try SKABProtocol.files(in: root).prefix(2))
        #expect(files == ["valve1/0.csv", "valve1/1.csv"])
        var s = SKABSettings()
        s.threads = 2
        let r = try SKABProtocol.run(root: root, files: files, settings: s)
        #expect(r.files.count == 2)
        let testRows = r.files.reduce(0) { $0 + $1.testRows }
        #expect(r.predictions.count == testRows)
        #expect(r.predictions.first?.row == 400 && r.predictions.first?.file == "valve1/0.csv")
        #expect(r.total.tp + r.total.fp + r.total.fn + r.total.tn == testRows)
        // Neither "flag nothing" (F1 0) nor "flag everything" (FAR 100 %) passes.
        #expect(r.total.f1 > 0.25 && r.total.far < 40, "F1 \(r.total.f1), FAR \(r.total.far) on two files")
    }
}
