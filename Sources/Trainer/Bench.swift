import ArgumentParser
import Foundation
import Model

/// `vertac-train bench`: times the reference shape on synthetic data.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training and scoring at the reference shape (T=30, D=10, H=64) on synthetic data.",
        discussion: """
        Prints training windows/s at batch 32 and 256, single-window scoring latency (median and p99) \
        and batch-256 scoring windows/s. Each figure is the median of several repetitions. \
        scripts/bench/anchors.py runs this and PyTorch / ONNX Runtime on the same shapes and prints ratios.
        """
    )

    @Option(help: "Steps per window (T).") var window = 30
    @Option(help: "Sensors (D).") var sensors = 10
    @Option(help: "Hidden units (H).") var hidden = 64
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Repetitions per figure (the median is reported).") var repeats = 5
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Option(help: "Time only one part (train32, train256, single, batch256), e.g. for profiling.")
    var only: BenchPart?

    func validate() throws {
        guard window > 0, sensors > 0, hidden > 0 else { throw ValidationError("window, sensors and hidden must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be at least 1") }
        guard repeats > 0 else { throw ValidationError("--repeats must be at least 1") }
        if only != nil && json { throw ValidationError("--only and --json cannot be combined") }
    }

    func run() throws {
        let bench = ModelBenchmark(window: window, sensors: sensors, hidden: hidden, threads: threads, repeats: repeats)
        let r = bench.run(only: only) { if !json { FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8)) } }
        if json {
            let object: [String: Any] = [
                "train_windows_per_s_b32": r.trainB32, "train_windows_per_s_b256": r.trainB256,
                "score_single_us_median": r.singleMedianMicros, "score_single_us_p99": r.singleP99Micros,
                "score_batch256_windows_per_s": r.batch256, "threads": threads,
                "shape": ["window": window, "sensors": sensors, "hidden": hidden],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("VerTac LSTM autoencoder, T=\(window) D=\(sensors) H=\(hidden), \(threads) thread(s), median of \(repeats)")
            func show(_ part: BenchPart, _ line: @autoclosure () -> String) {
                if only == nil || only == part { print(line()) }
            }
            show(.train32, String(format: "  training, batch 32     %10.0f windows/s", r.trainB32))
            show(.train256, String(format: "  training, batch 256    %10.0f windows/s", r.trainB256))
            show(.single, String(format: "  scoring, one window    %10.1f µs median, %.1f µs p99", r.singleMedianMicros, r.singleP99Micros))
            show(.batch256, String(format: "  scoring, batch 256     %10.0f windows/s", r.batch256))
        }
    }
}

extension BenchPart: ExpressibleByArgument {}
