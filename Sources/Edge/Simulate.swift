import ArgumentParser
import Foundation
import Simulation

/// `vertac-edge simulate`: writes simulated cycles as CSV.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a pump-like machine and write its cycles as CSV (DESIGN.md dialect, with anomaly labels).",
        discussion: """
        Writes DIR/normal.csv with N normal cycles, and for each --faults entry DIR/fault-<name>.csv with one faulty \
        cycle. Faults: drift:SENSOR[:AMOUNT], stuck:SENSOR, spikes:SENSOR[:SIZE], bearing-wear[:LEVEL], cavitation, \
        long-phase[:FACTOR], abnormal-stop[:AT]. Sensors: \(MachineSimulator.sensors.joined(separator: ", ")).
        """
    )

    @Option(help: "Output folder.") var out: String
    @Option(help: "Normal cycles.") var cycles = 20
    @Option(parsing: .upToNextOption, help: "Faulty cycles to add, one file each.") var faults: [String] = []
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Rows per second.") var rate = 1.0

    func validate() throws {
        guard cycles >= 0, rate > 0 else { throw ValidationError("--cycles must be ≥ 0 and --rate positive") }
        for f in faults where SimulationCSV.parseFault(f) == nil { throw ValidationError("unknown fault \"\(f)\"") }
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let sim = MachineSimulator(seed: seed, sampleRate: rate)
        let start = 1_767_225_600.0   // 2026-01-01T00:00:00Z
        if cycles > 0 {
            let path = (out as NSString).appendingPathComponent("normal.csv")
            try SimulationCSV.text((0..<cycles).map { sim.cycle($0) }, ids: (0..<cycles).map { "normal-\($0 + 1)" }, start: start)
                .write(toFile: path, atomically: true, encoding: .utf8)
            print("wrote \(path): \(cycles) normal cycles")
        }
        for (k, f) in faults.enumerated() {
            let fault = SimulationCSV.parseFault(f)!
            let name = f.replacingOccurrences(of: ":", with: "-")
            let path = (out as NSString).appendingPathComponent("fault-\(name).csv")
            try SimulationCSV.text([sim.cycle(10_000 + k, fault: fault)], ids: [name], start: start + 86_400 * Double(k + 1))
                .write(toFile: path, atomically: true, encoding: .utf8)
            print("wrote \(path): one cycle with \(fault.name)")
        }
    }
}
