import Testing
@testable import Simulation

@Suite struct SimulatorTests {
    @Test func seededAndReproducible() {
        let a = MachineSimulator(seed: 3).cycle(5), b = MachineSimulator(seed: 3).cycle(5)
        #expect(a.values == b.values && a.rows == b.rows)
        #expect(MachineSimulator(seed: 4).cycle(5).values != a.values)
        #expect(a.anomaly.allSatisfy { $0 == 0 })
    }

    @Test func cyclesVaryInTimingAndHavePhases() {
        let sim = MachineSimulator(seed: 1)
        let lengths = Set((0..<10).map { sim.cycle($0).rows })
        #expect(lengths.count > 3)   // timing varies from cycle to cycle
        let c = sim.cycle(0)
        let speed = (0..<c.rows).map { c.values[$0 * 8] }
        #expect(speed.first! < 100 && speed.last! < 150 && speed[c.rows / 2] > 1300) // ramp up, steady, ramp down
    }

    @Test func faultsAreLabelledAndChangeTheirSensor() {
        let sim = MachineSimulator(seed: 2)
        let normal = sim.cycle(1), drift = sim.cycle(1, fault: .drift(sensor: "flow", amount: 1))
        #expect(drift.anomaly.contains(1) && drift.anomaly.first == 0)
        let j = MachineSimulator.sensors.firstIndex(of: "flow")!
        let last = drift.rows - 1
        #expect(drift.values[last * 8 + j] - normal.values[last * 8 + j] > 30)
        #expect(drift.values[0] == normal.values[0]) // other sensors and earlier rows untouched
        let stop = sim.cycle(1, fault: .abnormalStop(at: 0.5))
        #expect(stop.rows < normal.rows * 6 / 10)
        let stuck = sim.cycle(2, fault: .stuck(sensor: "power"))
        let tail = (stuck.rows - 5..<stuck.rows).map { stuck.values[$0 * 8 + 7] }
        #expect(Set(tail).count == 1)
        #expect(SimulationCSV.parseFault("drift:flow:0.3") == .drift(sensor: "flow", amount: 0.3))
        #expect(SimulationCSV.parseFault("drift:nope") == nil && SimulationCSV.parseFault("melt") == nil)
    }
}
