import Foundation
import Inference
import Model
import Simulation
import Testing
@testable import TrainerKit

@Suite struct CycleEvaluatorTests {
    /// A small model of the simulated pump (window 12), trained once for the suite.
    static let model: ModelFile = {
        let sim = MachineSimulator(seed: 8)
        let data = Dataset(sensors: MachineSimulator.sensors, cycles: (0..<6).map { k in
            let c = sim.cycle(k)
            return Cycle(source: "c\(k)", values: c.values, rows: c.rows)
        })
        var s = FitSettings()
        (s.window, s.hidden, s.epochs, s.stride, s.threads) = (12, 16, 3, 3, 2)
        return try! Fitter.fit(data, settings: s, createdAt: "now", trainerVersion: "t").file
    }()

    @Test func replaysACycleAsTheServerWould() throws {
        let model = Self.model, T = model.model.window, D = model.model.sensors
        let c = MachineSimulator(seed: 9).cycle(3, fault: .drift(sensor: "flow", amount: 3))
        let o = CycleEvaluator.evaluate(model: model, values: c.values, rows: c.rows, times: c.times, threads: 2)
        #expect(o.rows == c.rows && o.rowScores.count == c.rows && o.sensorScores.count == c.rows * D)
        #expect(o.rowScores.prefix(T - 1).allSatisfy { $0 == nil } && o.rowScores.dropFirst(T - 1).allSatisfy { $0 != nil })
        #expect(o.flags.prefix(T - 1).allSatisfy { !$0 })

        // Against the plain window scorer: s_j ≥ e_j / threshold_j (DTW can only add), and the
        // detector's rule on the window score.
        let windows = ModelScoring.score(model, values: c.values, rows: c.rows)
        #expect(windows.count == c.rows - T + 1)
        for w in windows {
            let r = w.endRow
            let s = Array(o.sensorScores[(r * D)..<((r + 1) * D)])
            #expect(o.rowScores[r] == s.max())
            for j in 0..<D { #expect(s[j] >= w.errors[j] / model.calibration.sensorThreshold[j] * (1 - 1e-4)) }
            if !s.contains(where: { $0 > 1 }) { #expect(o.flags[r] == (w.score > model.calibration.windowThreshold)) }
        }
        #expect(o.flags == ModelScoring.decisions(model, values: c.values, rows: c.rows).map { $0 > 0.5 })

        // The report is the server's, from one function.
        let report = try #require(o.report)
        let direct = CycleReport.make(CycleReportInput(model: model, values: c.values, times: c.times, aborted: false)!, threads: 1)
        #expect(report == direct && o.health == direct.healthScore)

        // A 3-span drift raises an event at a row that ends a window; the cycle is flagged.
        let first = try #require(o.events.first)
        #expect(first.kind == .opened && first.row >= T - 1 && first.time == c.times[first.row])
        #expect(first.topSensors.count == 3 && o.events.map(\.row) == o.events.map(\.row).sorted())
        #expect(o.flagged)
        #expect(o.score == CycleEvaluator.cycleScore(o, times: c.times) && o.score >= Double(report.sensors.map(\.ratio).max()!))
        #expect(o.score > 1)   // it raised an event

        let normal = MachineSimulator(seed: 9).cycle(4)
        let n = CycleEvaluator.evaluate(model: model, values: normal.values, rows: normal.rows, times: nil, threads: 2)
        #expect(n.score < o.score)
        #expect(n.flagged == (!n.events.isEmpty || n.report!.severity != .normal))
    }

    @Test func cycleScoreIsTheFactorThatAvoidsAnEventOrTheLargestRatio() {
        // Six rows, windows end at rows 2…5. With every threshold raised by a factor f, a sensor
        // opens an event when 3 windows in a row are above f and the last (or a later one while
        // it warns) is above 3f — CRITICAL. Sensor a: 1, 3, 2, 5 → windows 3, 2, 5 are above f
        // and 5 > 3f for f < 5/3. Sensor b: 4, 4, 4, 0 → f < 4/3.
        let times = (0..<6).map(Double.init)
        func near(_ x: Double, _ y: Double) -> Bool { abs(x - y) < y * 2e-3 }
        var o = CycleOutcome(rows: 6, sensors: ["a", "b"], rowScores: [nil, nil, 4, 4, 4, 5],
                             sensorScores: [0, 0, 0, 0, 1, 4, 3, 4, 2, 4, 5, 0], flags: [Bool](repeating: false, count: 6),
                             events: [], report: nil, score: 0, flagged: false)
        #expect(near(CycleEvaluator.cycleScore(o, times: times), 5.0 / 3))
        o.sensorScores[10] = 0   // a: 1, 3, 2, 0 → 3 in a row above f only for f < 1, and 2 > 3f: 2/3; b decides
        #expect(near(CycleEvaluator.cycleScore(o, times: times), 4.0 / 3))
        o.sensorScores[7] = 0.5  // b: 4, 0.5, 4, 0 → 3 in a row above f for f < 0.5: a decides
        #expect(near(CycleEvaluator.cycleScore(o, times: times), 2.0 / 3))
        // Fewer windows than kWarn: nothing can open an event.
        o.rowScores = [nil, nil, nil, nil, 4, 5]
        #expect(CycleEvaluator.cycleScore(o, times: times) == 0)
    }

    @Test func aCycleShorterThanTheWindowHasOnlyItsReport() throws {
        let model = Self.model
        let c = MachineSimulator(seed: 9).cycle(5)
        let rows = model.model.window - 2, D = model.model.sensors
        let o = CycleEvaluator.evaluate(model: model, values: Array(c.values.prefix(rows * D)), rows: rows, times: nil)
        #expect(o.rowScores.allSatisfy { $0 == nil } && o.events.isEmpty && !o.flags.contains(true))
        let report = try #require(o.report)
        #expect(o.score == report.sensors.map(\.ratio).max()!)
        #expect(o.flagged == (report.severity != .normal))
        // One row makes no report.
        let one = CycleEvaluator.evaluate(model: model, values: Array(c.values.prefix(D)), rows: 1, times: nil)
        #expect(one.report == nil && one.score == 0 && !one.flagged)
    }

    @Test func summaryCountsCyclesByTheirRows() throws {
        func outcome(_ scores: [Float?], flagged: Bool, score: Double, events: Int) -> CycleOutcome {
            let e = CycleEvent(kind: .opened, row: 0, time: 0, sensor: "a", severity: .high, reason: "", topSensors: ["a"])
            return CycleOutcome(rows: scores.count, sensors: ["a"], rowScores: scores, sensorScores: scores.map { $0 ?? 0 },
                                flags: scores.map { ($0 ?? 0) > 1 }, events: Array(repeating: e, count: events), report: nil,
                                score: score, flagged: flagged)
        }
        var s = EvaluationSummary()
        s.add(outcome([nil, 0.2, 0.4], flagged: false, score: 0.4, events: 0), file: "f", cycleID: "1", labels: [0, 0, 0])
        s.add(outcome([nil, 0.35, 2], flagged: true, score: 2, events: 1), file: "f", cycleID: "2", labels: [0, 0, 1])
        s.add(outcome([nil, 0.1, 0.8], flagged: true, score: 0.8, events: 2), file: "f", cycleID: "3", labels: [0, 0, 0])
        s.add(outcome([nil, 5], flagged: true, score: 5, events: 1), file: "g", cycleID: "g", labels: nil)
        #expect(s.cycles.count == 4 && s.labelled.count == 3)
        #expect(s.cycleConfusion == Confusion(tp: 1, fp: 1, fn: 0, tn: 1))
        #expect(s.cycleAUC == 1)                     // 2 above 0.4 and 0.8
        // Rows with a score and a label: 0.2 n, 0.4 n, 0.35 n, 2 p, 0.1 n, 0.8 n → the positive beats all 5.
        #expect(s.scoredRows == 6 && s.rowAUC == 1)
        #expect(s.normalCycleEvents == (2, 2))
        #expect(CycleRecord.fileCycleID("/data/run 7.CSV.gz") == "run 7" && CycleRecord.fileCycleID("a/b.csv") == "b")
        #expect(CycleRecord.fileCycleID("x.txt") == "x.txt" && CycleRecord.fileCycleID(".csv") == ".csv")
    }
}
