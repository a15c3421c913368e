import Foundation
import Model

/// A fault injected into a simulated cycle.
public enum Fault: Sendable, Equatable, Codable {
    /// Vibration and bearing temperature rise; `level` 0…1 (grows over cycles as the bearing wears).
    case bearingWear(level: Double)
    /// Noisy vibration, lower flow and inlet pressure during the steady phase.
    case cavitation
    /// A sensor drifts linearly from mid-cycle by `amount` × its normal span.
    case drift(sensor: String, amount: Double)
    /// A sensor freezes at its value from mid-cycle.
    case stuck(sensor: String)
    /// Short spikes of ±`size` × the sensor's span on one sensor.
    case spikes(sensor: String, size: Double)
    /// The steady phase runs `factor` × as long.
    case longPhase(factor: Double)
    /// The cycle stops abruptly at `at` (0…1) of its planned length; data ends there.
    case abnormalStop(at: Double)

    /// A short name for logs and CSV labels.
    public var name: String {
        switch self {
        case .bearingWear: "bearing_wear"
        case .cavitation: "cavitation"
        case .drift: "drift"
        case .stuck: "stuck"
        case .spikes: "spikes"
        case .longPhase: "long_phase"
        case .abnormalStop: "abnormal_stop"
        }
    }
}

/// One simulated cycle.
public struct SimulatedCycle: Sendable {
    /// `[rows, sensors]` row-major, in ``MachineSimulator/sensors`` order.
    public var values: [Float]
    public var rows: Int
    /// Seconds from the cycle start.
    public var times: [Double]
    /// 1 where the injected fault is active.
    public var anomaly: [Float]
    public var fault: Fault?
}

/// A seeded pump-like machine running cycles of ramp-up, steady running and ramp-down, with
/// eight correlated sensors, noise, and cycle-to-cycle variation in timing and amplitude (so
/// that rigid, index-by-index comparison fails and DTW matters).
public struct MachineSimulator: Sendable {
    /// Sensor names, in column order.
    public static let sensors = ["motor_speed", "motor_current", "vibration_rms", "bearing_temp",
                                 "inlet_pressure", "outlet_pressure", "flow", "power"]
    /// Typical span of each sensor in a normal cycle (for fault sizes).
    static let span: [Float] = [1450, 10, 2, 12, 0.2, 4, 40, 4]

    public let seed: UInt64
    /// Rows per second.
    public let sampleRate: Double
    /// Planned durations (seconds) of ramp-up, steady and ramp-down.
    public let phases: (rampUp: Double, steady: Double, rampDown: Double)

    public init(seed: UInt64, sampleRate: Double = 1, phases: (rampUp: Double, steady: Double, rampDown: Double) = (12, 60, 12)) {
        precondition(sampleRate > 0 && phases.rampUp > 0 && phases.steady > 0 && phases.rampDown > 0, "invalid simulator settings")
        self.seed = seed
        self.sampleRate = sampleRate
        self.phases = phases
    }

    /// The cycle with this index (the same index and seed give the same cycle).
    public func cycle(_ index: Int, fault: Fault? = nil) -> SimulatedCycle {
        var rng = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(index) &* 0x632B_E5AB)
        func noise(_ sd: Float) -> Float {
            // Sum of uniforms: close enough to a normal for sensor noise, and cheap.
            (rng.uniform(-1, 1) + rng.uniform(-1, 1) + rng.uniform(-1, 1)) * sd * 0.58
        }
        let timing = { Double(rng.uniform(0.88, 1.12)) }
        let up = phases.rampUp * timing(), down = phases.rampDown * timing()
        var steady = phases.steady * timing()
        if case .longPhase(let f)? = fault { steady *= f }
        let amp = rng.uniform(0.96, 1.04)
        let total = up + steady + down
        var rows = max(4, Int((total * sampleRate).rounded()))
        var faultStart = Int(Double(rows) * 0.5)
        if case .abnormalStop(let at)? = fault {
            rows = max(4, Int(Double(rows) * at))
            faultStart = max(0, rows - Int(5 * sampleRate))
        }
        if case .longPhase? = fault { faultStart = Int((up + phases.steady) * sampleRate) }
        if case .cavitation? = fault { faultStart = Int(up * sampleRate) }
        if case .bearingWear? = fault { faultStart = 0 }
        let D = Self.sensors.count
        var values = [Float](repeating: 0, count: rows * D)
        var anomaly = [Float](repeating: 0, count: rows)
        var temp: Float = 40 + rng.uniform(-0.5, 0.5)
        var stuck: [Float]?
        for r in 0..<rows {
            let t = Double(r) / sampleRate
            let s: Float
            if t < up { let x = Float(t / up); s = x * x * (3 - 2 * x) }
            else if t < up + steady { s = 1 + 0.02 * sin(Float(t) * 0.7) }
            else { let x = Float(min(1, (t - up - steady) / down)); s = 1 - x * x * (3 - 2 * x) }
            let a = s * amp
            temp += (40 + 14 * a - temp) / Float(25 * sampleRate)
            var row: [Float] = [
                1450 * a + noise(6),
                2 + 10 * pow(a, 1.5) + noise(0.08),
                0.5 + 2 * a + noise(0.04),
                temp + noise(0.08),
                1.0 - 0.2 * a + noise(0.005),
                0, 40 * a + noise(0.3), 0,
            ]
            row[5] = row[4] + 4 * a * a + noise(0.02)
            row[7] = 0.38 * row[1] * (0.9 + 0.1 * a) + noise(0.03)
            let active = r >= faultStart
            if let fault, active {
                anomaly[r] = 1
                apply(fault, to: &row, s: s, progress: Float(r - faultStart) / Float(max(1, rows - faultStart)), rng: &rng)
            }
            if case .stuck(let name)? = fault, active, let j = Self.sensors.firstIndex(of: name) {
                if stuck == nil { stuck = row }
                row[j] = stuck![j]
            }
            for j in 0..<D { values[r * D + j] = row[j] }
        }
        if case .abnormalStop? = fault {} else if case .longPhase? = fault {
            // Only the overlong part of the steady phase is anomalous.
            let end = Int((up + steady) * sampleRate)
            for r in 0..<rows { anomaly[r] = r >= faultStart && r < end ? 1 : 0 }
        }
        return SimulatedCycle(values: values, rows: rows, times: (0..<rows).map { Double($0) / sampleRate },
                              anomaly: anomaly, fault: fault)
    }

    private func apply(_ fault: Fault, to row: inout [Float], s: Float, progress p: Float, rng: inout SeededGenerator) {
        func index(_ name: String) -> Int? { Self.sensors.firstIndex(of: name) }
        switch fault {
        case .bearingWear(let level):
            row[2] += Float(level) * 2.5 * (0.3 + s)
            row[3] += Float(level) * 10 * s
        case .cavitation:
            guard s > 0.9 else { return }
            row[2] += rng.uniform(0, 1.6)
            row[6] *= 0.8
            row[4] -= 0.08
        case .drift(let name, let amount):
            if let j = index(name) { row[j] += Float(amount) * Self.span[j] * p }
        case .stuck:
            break
        case .spikes(let name, let size):
            if let j = index(name), rng.next() % 6 == 0 { row[j] += (rng.next() % 2 == 0 ? 1 : -1) * Float(size) * Self.span[j] }
        case .longPhase, .abnormalStop:
            break
        }
    }
}
