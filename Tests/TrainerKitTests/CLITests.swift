import Foundation
import Simulation
import Testing
@testable import TrainerKit

/// Runs the built `vertac-train` (it sits beside the test bundle).
func vertacTrain(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [dir, dir.deletingLastPathComponent()].map { $0.appendingPathComponent("vertac-train").path }
    guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw CSVError(path: candidates[0], message: "vertac-train not built (swift build --build-tests builds it)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct CLITests {
    @Test func fitScoreEvaluateInspectFromTheCommandLine() throws {
        let dir = Scratch()
        let sim = MachineSimulator(seed: 8)
        try writeCSV((0..<6).map { sim.cycle($0) }, to: dir.file("normal.csv"))
        try writeCSV([sim.cycle(7, fault: .stuck(sensor: "flow"))], to: dir.file("faulty.csv"))
        let fit = try vertacTrain(["fit", dir.file("normal.csv"), "--out", dir.file("m.h5"), "--window", "12", "--hidden", "16",
                                   "--epochs", "3", "--stride", "3", "--threads", "2"])
        #expect(fit.status == 0, "\(fit.err)")
        #expect(fit.err.contains("epoch 3/3")) // plain progress lines when not on a terminal
        for f in ["m.h5", "m.report.md", "m.loss.svg"] { #expect(FileManager.default.fileExists(atPath: dir.file(f)), "\(f) missing") }
        let report = try String(contentsOfFile: dir.file("m.report.md"), encoding: .utf8)
        #expect(report.contains("## Thresholds") && report.contains("![loss curves](m.loss.svg)") && report.contains("| flow |"))

        let score = try vertacTrain(["score", "--model", dir.file("m.h5"), dir.file("faulty.csv"), "--stride", "2"])
        #expect(score.status == 0, "\(score.err)")
        let lines = score.out.split(separator: "\n")
        #expect(lines[0] == "start_row,end_row,timestamp,score," + MachineSimulator.sensors.joined(separator: ","))
        #expect(lines[1].hasPrefix("0,11,") && lines[2].hasPrefix("2,13,"))
        #expect(lines[1].split(separator: ",").count == 4 + MachineSimulator.sensors.count)

        let eval = try vertacTrain(["evaluate", "--model", dir.file("m.h5"), dir.file("faulty.csv"), "--predictions", dir.file("p.csv")])
        #expect(eval.status == 0, "\(eval.err)")
        #expect(eval.out.contains("overall") && eval.out.contains("precision"))
        let predictions = try String(contentsOfFile: dir.file("p.csv"), encoding: .utf8).split(separator: "\n")
        #expect(predictions[0] == "file,row,datetime,anomaly,prediction")
        #expect(predictions.count == 1 + sim.cycle(7, fault: .stuck(sensor: "flow")).rows)

        let inspect = try vertacTrain(["inspect", dir.file("m.h5")])
        #expect(inspect.status == 0 && inspect.out.contains("window 12, 8 sensors, hidden 16") && inspect.out.contains("bearing_temp"))
    }

    @Test func evaluateWritesCyclesScoresAndEvents() throws {
        let dir = Scratch()
        let sim = MachineSimulator(seed: 8)
        try writeCSV((0..<6).map { sim.cycle($0) }, to: dir.file("normal.csv"))
        let fit = try vertacTrain(["fit", dir.file("normal.csv"), "--out", dir.file("m.h5"), "--window", "12", "--hidden", "16",
                                   "--epochs", "3", "--stride", "3", "--threads", "2"])
        #expect(fit.status == 0, "\(fit.err)")
        var short = sim.cycle(22)  // shorter than the window
        (short.rows, short.values, short.times, short.anomaly) = (5, Array(short.values.prefix(5 * 8)), Array(short.times.prefix(5)), [0, 0, 0, 0, 0])
        let test = [sim.cycle(20), sim.cycle(21, fault: .drift(sensor: "flow", amount: 3)), short]
        try writeCSV(test, to: dir.file("test.csv"))
        try gzip(Data(contentsOf: URL(fileURLWithPath: dir.file("test.csv")))).write(to: URL(fileURLWithPath: dir.file("test.csv.gz")))

        let r = try vertacTrain(["evaluate", "--model", dir.file("m.h5"), dir.file("test.csv"), "--cycles", dir.file("c.csv"),
                                 "--scores", dir.file("s.csv"), "--events", dir.file("e.csv"), "--threads", "2"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("Rows: ROC AUC") && r.out.contains("Cycles: 3, anomalous 1") && r.out.contains("macro F1"))
        func lines(_ name: String) throws -> [[String]] {
            try String(contentsOfFile: dir.file(name), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        let cycles = try lines("c.csv")
        #expect(cycles[0] == ["file", "cycle_id", "rows", "score", "health", "flagged"])
        #expect(cycles.count == 4 && cycles.dropFirst().map { $0[1] } == ["c0", "c1", "c2"])
        #expect(cycles.dropFirst().map { Int($0[2])! } == test.map(\.rows) && cycles.dropFirst().allSatisfy { $0[0] == dir.file("test.csv") })
        #expect(cycles.dropFirst().allSatisfy { Double($0[3])! >= 0 && Double($0[4])! >= 0 && Double($0[4])! <= 100 && ["0", "1"].contains($0[5]) }, "\(cycles)")
        #expect(cycles[2][5] == "1" && Double(cycles[2][3])! > Double(cycles[1][3])!) // the drifting cycle
        #expect(cycles[3][5] == "1") // 5 rows against a reference of some 80: the report flags it

        let scores = try lines("s.csv")
        #expect(scores[0] == ["file", "cycle_id", "row", "anomaly", "flag", "score"] + MachineSimulator.sensors)
        #expect(scores.count == 1 + test.reduce(0) { $0 + $1.rows })
        #expect(scores[1][1...5] == ["c0", "0", "0", "0", ""] && scores[12][2] == "11" && Float(scores[12][5])! > 0)
        #expect(scores.last![1...2] == ["c2", "4"] && scores.last![5...].allSatisfy(\.isEmpty))
        let events = try lines("e.csv")
        #expect(events[0] == ["file", "cycle_id", "row", "time", "sensor", "severity", "top_sensors", "kind"])
        #expect(events.count > 1 && events.dropFirst().allSatisfy { $0[1] == "c1" && ["opened", "escalated"].contains($0.last!) })

        // The compressed twin: the same cycles.
        let gz = try vertacTrain(["evaluate", "--model", dir.file("m.h5"), dir.file("test.csv.gz"), "--cycles", dir.file("cz.csv"), "--threads", "2"])
        #expect(gz.status == 0, "\(gz.err)")
        let packed = try lines("cz.csv")
        #expect(packed.dropFirst().allSatisfy { $0[0] == dir.file("test.csv.gz") })
        #expect(packed.map { $0.dropFirst() } == cycles.map { $0.dropFirst() })

        // No anomaly column and no cycle_id: the file is the cycle, named by the file; only with an output.
        let c = sim.cycle(23)
        var plain = MachineSimulator.sensors.joined(separator: ",") + "\n"
        for row in 0..<c.rows { plain += (0..<8).map { "\(c.values[row * 8 + $0])" }.joined(separator: ",") + "\n" }
        try plain.write(toFile: dir.file("run 7.csv"), atomically: true, encoding: .utf8)
        let bare = try vertacTrain(["evaluate", "--model", dir.file("m.h5"), dir.file("run 7.csv")])
        #expect(bare.status != 0 && bare.err.contains("no anomaly column to evaluate against"))
        let listed = try vertacTrain(["evaluate", "--model", dir.file("m.h5"), dir.file("run 7.csv"), "--cycles", dir.file("u.csv")])
        #expect(listed.status == 0, "\(listed.err)")
        let unlabelled = try lines("u.csv")
        #expect(unlabelled.count == 2 && unlabelled[1][1] == "run 7" && unlabelled[1][2] == "\(c.rows)")
    }

    @Test func badInputFailsClearlyAndWritesNothing() throws {
        let dir = Scratch()
        try "time,a,b\n0,1,2\n1,1,oops\n".write(toFile: dir.file("bad.csv"), atomically: true, encoding: .utf8)
        let r = try vertacTrain(["fit", dir.file("bad.csv"), "--out", dir.file("m.h5")])
        #expect(r.status != 0)
        #expect(r.err.contains("bad.csv:3:3 (column \"b\"): \"oops\" is not a finite number"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("m.h5")))
        try "not hdf5".write(toFile: dir.file("x.h5"), atomically: true, encoding: .utf8)
        let i = try vertacTrain(["inspect", dir.file("x.h5")])
        #expect(i.status != 0 && i.err.contains("not an HDF5 file"))
        let s = try vertacTrain(["score", "--model", dir.file("x.h5"), dir.file("bad.csv")])
        #expect(s.status != 0)
    }

    @Test func dtwJSONHasTheDocumentedShape() throws {
        let dir = Scratch()
        try "time,a,b\n0,0,1\n1,1,1\n2,2,1\n".write(toFile: dir.file("x.csv"), atomically: true, encoding: .utf8)
        try "time,a,b\n0,0,1\n1,2,1\n2,2,2\n".write(toFile: dir.file("y.csv"), atomically: true, encoding: .utf8)
        let r = try vertacTrain(["dtw", dir.file("x.csv"), dir.file("y.csv"), "--json"])
        #expect(r.status == 0, "\(r.err)")
        // a: [0,1,2] vs [0,2,2] → 1; b: [1,1,1] vs [1,1,2] → 1; multivariate (dependent) → √2.
        #expect(r.out == "{\"sensors\": {\"a\": 1, \"b\": 1}, \"multivariate\": 1.4142135623730951}\n")
        let w = try vertacTrain(["dtw", dir.file("x.csv"), dir.file("y.csv"), "--window", "1", "--sensors", "b", "--json"])
        #expect(w.out == "{\"sensors\": {\"b\": 1}, \"multivariate\": 1}\n")
    }
}
