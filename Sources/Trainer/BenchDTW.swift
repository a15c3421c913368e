import ArgumentParser
import Foundation
import Inference

/// `vertac-train bench-dtw`: times banded DTW at the reference size.
struct BenchDTW: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-dtw",
        abstract: "Time banded DTW (L = 1,000, window 100): one pair, and 10 independent sensors at once.",
        discussion: "scripts/bench/dtw_anchors.py runs this and dtaidistance's C implementation in the same run."
    )

    @Option(help: "Series length L.") var length = 1000
    @Option(help: "DTW window (dtaidistance's meaning).") var window = 100
    @Option(help: "Sensors for the independent form.") var sensors = 10
    @Option(help: "Worker threads for the independent form.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Repetitions (the median is reported).") var repeats = 21
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard length > 0, window > 0, sensors > 0, threads > 0, repeats > 0 else {
            throw ValidationError("all options must be positive")
        }
    }

    func run() throws {
        var rng = SeededGenerator(seed: 5)
        func series(_ n: Int) -> [Float] {
            var x: Float = 0
            return (0..<n).map { _ in x += rng.uniform(-1, 1); return x }
        }
        let a = series(length), b = series(length)
        let ma = (0..<(length * sensors)).map { _ in rng.uniform(-1, 1) }
        let mb = (0..<(length * sensors)).map { _ in rng.uniform(-1, 1) }
        var sink = 0.0
        let single = timeMedian(repeats) { sink += DTW.distance(a, b, window: window) }
        let multi = timeMedian(max(3, repeats / 3)) { sink += DTW.independent(ma, mb, sensors: sensors, window: window, threads: threads).reduce(0, +) }
        precondition(sink.isFinite, "non-finite distance")
        if json {
            print(#"{"dtw_single_ms": \#(single * 1e3), "dtw_independent_ms": \#(multi * 1e3), "length": \#(length), "window": \#(window), "sensors": \#(sensors), "threads": \#(threads)}"#)
        } else {
            print("DTW, L = \(length), window \(window), median of \(repeats)")
            print(String(format: "  one pair                    %8.3f ms", single * 1e3))
            print(String(format: "  %2d sensors, %d thread(s)     %8.3f ms", sensors, threads, multi * 1e3))
        }
    }
}

/// Median wall time of `body` over `repeats` runs, after one warm-up, in seconds.
func timeMedian(_ repeats: Int, _ body: () -> Void) -> Double {
    body()
    let times = (0..<repeats).map { _ -> Double in
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    return median(times)
}
