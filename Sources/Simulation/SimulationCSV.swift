import Foundation

/// Writes simulated cycles in the DESIGN.md CSV dialect: `timestamp,cycle_id,<sensors>,anomaly`.
public enum SimulationCSV {
    /// The CSV text of `cycles`, timestamps from `start` (seconds since 1970), cycles `gap` seconds apart.
    public static func text(_ cycles: [SimulatedCycle], ids: [String], start: Double, gap: Double = 10) -> String {
        precondition(ids.count == cycles.count, "one id per cycle")
        let D = MachineSimulator.sensors.count
        var s = "timestamp,cycle_id," + MachineSimulator.sensors.joined(separator: ",") + ",anomaly\n"
        var t0 = start
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for (c, id) in zip(cycles, ids) {
            for r in 0..<c.rows {
                s += iso.string(from: Date(timeIntervalSince1970: t0 + c.times[r])) + "," + id
                for j in 0..<D { s += "," + String(format: "%.6g", c.values[r * D + j]) }
                s += "," + (c.anomaly[r] > 0 ? "1" : "0") + "\n"
            }
            t0 += (c.times.last ?? 0) + gap
        }
        return s
    }

    /// Parses a fault given on the command line: `drift:SENSOR[:AMOUNT]`, `stuck:SENSOR`,
    /// `spikes:SENSOR[:SIZE]`, `bearing-wear[:LEVEL]`, `cavitation`, `long-phase[:FACTOR]`,
    /// `abnormal-stop[:AT]`.
    public static func parseFault(_ s: String) -> Fault? {
        let parts = s.split(separator: ":").map(String.init)
        func number(_ i: Int, _ d: Double) -> Double? { parts.count > i ? Double(parts[i]) : d }
        func sensor() -> String? { parts.count > 1 && MachineSimulator.sensors.contains(parts[1]) ? parts[1] : nil }
        switch parts.first {
        case "drift": return sensor().flatMap { n in number(2, 0.5).map { .drift(sensor: n, amount: $0) } }
        case "stuck": return sensor().map { .stuck(sensor: $0) }
        case "spikes": return sensor().flatMap { n in number(2, 0.5).map { .spikes(sensor: n, size: $0) } }
        case "bearing-wear": return number(1, 0.8).map { .bearingWear(level: $0) }
        case "cavitation": return .cavitation
        case "long-phase": return number(1, 1.6).map { .longPhase(factor: $0) }
        case "abnormal-stop": return number(1, 0.5).map { .abnormalStop(at: $0) }
        default: return nil
        }
    }
}
