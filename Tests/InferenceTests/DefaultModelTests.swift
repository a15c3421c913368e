import Foundation
import Simulation
import Testing
@testable import Inference

/// The shipped model (`models/pump-default.h5`) on fresh simulated cycles (seed 7, not the
/// training seed), through the live pipeline with the server's default settings.
@Suite(.serialized) struct DefaultModelTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../models/pump-default.h5").standardized.path

    /// Streams one cycle; returns the first event's delay after the fault's first labelled row
    /// (seconds), or nil, and whether the cycle was aborted.
    static func run(_ c: SimulatedCycle, _ model: ModelFile, stops: Bool = true) -> (firstEvent: Double?, events: [MaintenanceEvent], aborted: Bool) {
        var m = StreamMonitor(stream: "pump", model: model)
        _ = try? m.handle(.register, at: 0)
        _ = try? m.handle(.start, at: 0)
        let scorer = BatchScorer(model: model)
        let onset = c.anomaly.firstIndex(of: 1).map { c.times[$0] }
        var events: [MaintenanceEvent] = []
        var first: Double?
        var aborted = false
        for r in 0..<c.rows {
            let (w, _) = m.ingest(Array(c.values[(r * 8)..<((r + 1) * 8)]), at: c.times[r])
            if let w {
                for o in m.apply(scorer.score([w])[0]) {
                    if case .eventOpened(let e) = o {
                        events.append(e)
                        if first == nil, let onset { first = c.times[r] - onset }
                    }
                }
            }
        }
        let end = c.times[c.rows - 1]
        if stops { _ = try? m.handle(.stop, at: end + 0.5) }
        for o in m.tick(at: end + 31) { if case .cycle(let t) = o, t.to == .aborted { aborted = true } }
        return (first, events, aborted)
    }

    @Test func noEventOnNormalCyclesAnEventForEachFaultWithin60Seconds() throws {
        let model = try ModelFile.read(from: Self.path)
        #expect(model.sensors == MachineSimulator.sensors && model.reference != nil)
        let sim = MachineSimulator(seed: 7)
        for k in 0..<10 {
            let r = Self.run(sim.cycle(k), model)
            #expect(r.events.isEmpty, "normal cycle \(k): events for \(r.events.map(\.sensor))")
            #expect(!r.aborted)
        }
        let faults: [(Fault, String?)] = [
            (.bearingWear(level: 0.8), nil), (.cavitation, nil), (.drift(sensor: "outlet_pressure", amount: 0.6), "outlet_pressure"),
            (.stuck(sensor: "flow"), "flow"), (.spikes(sensor: "motor_current", size: 0.6), "motor_current"), (.longPhase(factor: 1.6), nil),
        ]
        for (k, (fault, sensor)) in faults.enumerated() {
            let r = Self.run(sim.cycle(100 + k, fault: fault), model)
            print("default model, \(fault.name): first event after \(r.firstEvent.map { String(format: "%.0f s", $0) } ?? "—"), sensors \(Set(r.events.map(\.sensor)).sorted())")
            #expect(r.firstEvent != nil && r.firstEvent! <= 60, "\(fault.name): first event after \(String(describing: r.firstEvent))")
            if let sensor {
                // Attribution: the faulty sensor opens the first event, ranks first among its top
                // sensors and first in the post-cycle report.
                let first = try #require(r.events.first)
                #expect(first.sensor == sensor, "\(fault.name): first event for \(first.sensor)")
                #expect(first.topSensors.first?.sensor == sensor, "\(fault.name): top sensors \(first.topSensors.map(\.sensor))")
                let c = sim.cycle(100 + k, fault: fault)
                let report = CycleReport.make(try #require(CycleReportInput(model: model, values: c.values, times: c.times, aborted: false)))
                #expect(report.sensors.first?.sensor == sensor, "\(fault.name): report ranks \(report.sensors.prefix(3).map(\.sensor))")
            }
        }
        // An abnormal stop raises no sensor event: the cycle is aborted after the sample timeout,
        // and its report finds the cycle short and incomplete.
        let stopped = sim.cycle(200, fault: .abnormalStop(at: 0.5))
        let stop = Self.run(stopped, model, stops: false)
        #expect(stop.aborted && stop.events.isEmpty)
        let report = CycleReport.make(try #require(CycleReportInput(model: model, values: stopped.values, times: stopped.times, aborted: true)))
        #expect(report.severity != .normal && (report.lengthRatio ?? 0) > 1 && (report.completionRatio ?? 0) > 1)
    }
}
