import Foundation
import Testing
import Simulation
import TrainerKit
@testable import Inference

/// Synthetic multi-sensor cycles — normal ones, then one fault each — driven through the
/// library with a small model trained on normal cycles.
@Suite(.serialized) struct ScenarioTests {
    static let sensors = MachineSimulator.sensors

    static func cycle(_ s: SimulatedCycle, _ name: String) -> Cycle {
        Cycle(source: name, values: s.values, rows: s.rows, times: s.times, timeText: nil, anomaly: s.anomaly, changepoint: nil)
    }

    /// A small model on 30 normal cycles (trained once for the suite).
    static let model: ModelFile = {
        let sim = MachineSimulator(seed: 1)
        let data = Dataset(sensors: sensors, cycles: (0..<30).map { cycle(sim.cycle($0), "normal-\($0)") }, files: [])
        var s = FitSettings()
        (s.window, s.hidden, s.epochs, s.batch, s.stride, s.threads, s.patience) = (16, 24, 40, 32, 2, 2, 6)
        s.learningRate = 3e-3
        return try! Fitter.fit(data, settings: s, createdAt: "2026-11-22T00:00:00Z", trainerVersion: "test").file
    }()

    struct Run {
        var outputs: [MonitorOutput] = []
        var sensorTransitions: [(String, SensorTransition)] {
            outputs.compactMap { if case .sensor(let s, let t) = $0 { return (s, t) } else { return nil } }
        }
        var events: [MaintenanceEvent] {
            outputs.compactMap { if case .eventOpened(let e) = $0 { return e } else { return nil } }
        }
        var cycleStates: [CycleState] {
            outputs.compactMap { if case .cycle(let t) = $0 { return t.to } else { return nil } }
        }
    }

    /// Streams one cycle; a normal end is stop + grace period, a cut-off one times out.
    static func stream(_ c: SimulatedCycle, _ monitor: inout StreamMonitor, _ scorer: BatchScorer, start: Double, stops: Bool) -> Run {
        var run = Run()
        run.outputs += try! monitor.handle(.start, at: start)
        let D = sensors.count
        for r in 0..<c.rows {
            let t = start + c.times[r]
            let (window, out) = monitor.ingest(Array(c.values[(r * D)..<((r + 1) * D)]), at: t)
            run.outputs += out
            if let window { run.outputs += monitor.apply(scorer.score([window])[0]) }
            run.outputs += monitor.tick(at: t)
        }
        let end = start + c.times[c.rows - 1]
        if stops {
            run.outputs += try! monitor.handle(.stop, at: end + 0.5)
            run.outputs += monitor.tick(at: end + 11)
        } else {
            run.outputs += monitor.tick(at: end + 31)
        }
        return run
    }

    static func fresh() -> StreamMonitor {
        var m = StreamMonitor(stream: "pump-7", model: model,
                              settings: MonitorSettings(stride: 2, sensor: SensorSettings(kWarn: 3, kCrit: 10, criticalFactor: 3, kRecover: 5),
                                                        policy: MaintenancePolicy(warningDuration: 20)))
        _ = try! m.handle(.register, at: 0)
        return m
    }

    @Test func modelHasReferenceAndThresholds() {
        #expect(Self.model.reference != nil)
        #expect(Self.model.calibration.sensorThreshold.allSatisfy { $0 > 0 })
        #expect(Self.model.training.validationLoss.last! < Self.model.training.validationLoss.first!)
    }

    @Test func normalCyclesRaiseNothing() {
        let sim = MachineSimulator(seed: 2)   // another seed than training
        let scorer = BatchScorer(model: Self.model)
        var m = Self.fresh()
        var start = 10.0
        for k in 0..<12 {
            let c = sim.cycle(k)
            let run = Self.stream(c, &m, scorer, start: start, stops: true)
            start += c.times.last! + 20
            #expect(run.sensorTransitions.isEmpty, "normal cycle \(k): \(run.sensorTransitions.map { "\($0.0) → \($0.1.to)" })")
            #expect(run.events.isEmpty)
            #expect(run.cycleStates == [.active, .stopping, .stopped])
        }
    }

    @Test(arguments: [
        (Fault.drift(sensor: "outlet_pressure", amount: 0.6), "outlet_pressure"),
        (.stuck(sensor: "flow"), "flow"),
        (.spikes(sensor: "motor_current", size: 0.6), "motor_current"),
        (.bearingWear(level: 0.8), "vibration_rms"),
    ])
    func faultySensorIsNamed(fault: Fault, sensor: String) {
        let sim = MachineSimulator(seed: 3)
        var m = Self.fresh()
        let run = Self.stream(sim.cycle(0, fault: fault), &m, BatchScorer(model: Self.model), start: 10, stops: true)
        let warned = Set(run.sensorTransitions.filter { $0.1.to == .warning || $0.1.to == .critical }.map(\.0))
        #expect(warned.contains(sensor), "\(fault.name): warned \(warned)")
        #expect(run.events.contains { $0.sensor == sensor }, "\(fault.name): events for \(run.events.map(\.sensor))")
        #expect(run.events.allSatisfy { $0.evidence != nil && !$0.topSensors.isEmpty })
    }

    @Test func phaseThatRunsLongIsSeenByDTW() {
        let sim = MachineSimulator(seed: 3)
        var m = Self.fresh()
        let run = Self.stream(sim.cycle(1, fault: .longPhase(factor: 1.8)), &m, BatchScorer(model: Self.model), start: 10, stops: true)
        let dtwDriven = run.sensorTransitions.filter {
            guard let e = $0.1.evidence, $0.1.to != .normal else { return false }
            return e.dtwThreshold > 0 && e.dtwDeviation > e.dtwThreshold
        }
        #expect(!dtwDriven.isEmpty, "no DTW-driven transition: \(run.sensorTransitions.map { "\($0.0) → \($0.1.to)" })")
    }

    @Test func abnormalStopAbortsAndIsDiagnosed() throws {
        let sim = MachineSimulator(seed: 3)
        var m = Self.fresh()
        let c = sim.cycle(2, fault: .abnormalStop(at: 0.5))
        let run = Self.stream(c, &m, BatchScorer(model: Self.model), start: 10, stops: false)
        #expect(run.cycleStates == [.active, .aborted])
        #expect(run.events.isEmpty)
        let ref = try #require(Self.model.reference)
        let report = CycleReport.make(CycleReportInput(
            sensors: Self.sensors, values: c.values, times: c.times, reference: ref.values, scaler: Self.model.scaler,
            dtwThreshold: ref.dtwThreshold, aborted: true))
        #expect(report.stopCause == .connectionLoss)
        #expect(report.lastRowsTimes?.first == c.times.last! - 30)
    }
}
