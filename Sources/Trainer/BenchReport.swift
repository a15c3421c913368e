import ArgumentParser
import Foundation
import Inference

/// `vertac-train bench-report`: times the post-cycle report.
struct BenchReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-report",
        abstract: "Time the post-cycle report for 10 sensors × 10,000 rows (target ≤ 50 ms)."
    )

    @Option(help: "Rows per cycle.") var rows = 10_000
    @Option(help: "Sensors.") var sensors = 10
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Repetitions (the median is reported).") var repeats = 9

    func validate() throws {
        guard rows > 10, sensors > 0, threads > 0, repeats > 0 else { throw ValidationError("options must be positive (rows > 10)") }
    }

    func run() throws {
        var rng = SeededGenerator(seed: 9)
        func cycle(_ n: Int, _ phase: Float) -> [Float] {
            (0..<n).flatMap { t in (0..<sensors).map { j in sin(Float(t) / Float(n) * 6.28 * Float(j + 1) + phase) + rng.uniform(-0.05, 0.05) } }
        }
        let reference = cycle(rows, 0), previous = cycle(rows - 137, 0.05), current = cycle(rows + 211, 0.1)
        let input = CycleReportInput(
            sensors: (0..<sensors).map { "s\($0)" }, values: current, times: (0..<(rows + 211)).map(Double.init),
            reference: reference, previous: previous,
            scaler: try MinMaxScaler(min: [Float](repeating: -1.1, count: sensors), max: [Float](repeating: 1.1, count: sensors)),
            dtwThreshold: [Float](repeating: 0.01, count: sensors), aborted: false)
        var health = 0.0
        let t = timeMedian(repeats) { health += CycleReport.make(input, threads: threads).healthScore }
        precondition(health.isFinite, "non-finite health")
        print("post-cycle report, \(sensors) sensors × \(rows) rows (vs reference and previous), \(threads) thread(s), median of \(repeats)")
        print(String(format: "  %.1f ms (target ≤ 50 ms)", t * 1e3))
    }
}
