/// Scores many windows in one call: per window and sensor the reconstruction error
/// `e_j = mean over the T steps of |x̂ − x'|` (scaled units), and the window score
/// `mean_j e_j` (DESIGN.md). Higher means more anomalous; deciding is left to thresholds.
///
/// Windows are split across `threads` shards, each with its own preallocated workspace of
/// `chunk` windows, so a call allocates nothing beyond its outputs.
public final class WindowScorer: @unchecked Sendable {
    /// The model scored with.
    public let model: LSTMAutoencoder
    private let threads: Int
    /// Windows per forward pass and thread.
    let chunk: Int
    private let cores: [AutoencoderCore<Float>]

    /// - Parameters:
    ///   - model: the autoencoder.
    ///   - threads: worker threads (1 … cores).
    ///   - chunk: windows per forward pass and thread; larger chunks use BLAS better. Fewer are
    ///     used when `chunk` windows would need more than `workspaceBudget` values per thread.
    ///   - workspaceBudget: most workspace values per thread (for more than one window).
    public init(model: LSTMAutoencoder, threads: Int = 1, chunk: Int = 128, workspaceBudget: Int = WindowScorer.workspaceBudget) {
        precondition(threads > 0 && chunk > 0, "threads and chunk must be positive")
        self.model = model
        self.threads = threads
        let perWindow = Self.workspacePerWindow(model)
        self.chunk = max(1, min(chunk, workspaceBudget / max(perWindow ?? .max, 1)))
        cores = (0..<threads).map { [chunk = self.chunk] _ in
            AutoencoderCore(window: model.window, sensors: model.sensors, hidden: model.hidden, capacity: chunk)
        }
        BLASThreads.set(1)
    }

    /// Most workspace values per thread (256 MiB of float32) for more than one window; a model
    /// within ``ModelFileLimits`` needs at most about half of it for one.
    public static let workspaceBudget = 64 << 20

    /// An upper bound of the workspace values one window takes (``AutoencoderCore``: inputs,
    /// outputs and their gradients `5·T·D`, projections `≈ 5·T·H`, two LSTMs `≈ 11·(T+1)·H`
    /// each, plus per-window vectors), or `nil` when it overflows.
    static func workspacePerWindow(_ m: LSTMAutoencoder) -> Int? {
        let (t, d, h) = (m.window + 1, m.sensors, m.hidden)
        guard let td = ModelFileLimits.product(t, d), let th = ModelFileLimits.product(t, h),
              let a = ModelFileLimits.product(5, td), let b = ModelFileLimits.product(28, th) else { return nil }
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }

    /// Scores `count` windows laid out `[count, T, D]` (scaled values).
    ///
    /// - Parameters:
    ///   - errors: receives `[count, D]` per-sensor errors.
    ///   - scores: receives `[count]` window scores, or `nil`.
    public func score(_ windows: UnsafePointer<Float>, count: Int,
                      errors: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>?) {
        guard count > 0 else { return }
        let stride = model.window * model.sensors, D = model.sensors
        let ranges = shardRanges(count, parts: threads)
        model.parameters.withUnsafeBufferPointer { p in
            let params = p.baseAddress!
            parallelFor(ranges.count) { i in
                let core = cores[i]
                var start = ranges[i].lowerBound
                while start < ranges[i].upperBound {
                    let n = min(chunk, ranges[i].upperBound - start)
                    core.forward(params, windows: windows + start * stride, count: n, training: false)
                    core.windowErrors(into: errors + start * D)
                    start += n
                }
            }
        }
        if let scores {
            let inv = 1 / Float(D)
            for b in 0..<count {
                var s: Float = 0
                for j in 0..<D { s += errors[b * D + j] }
                scores[b] = s * inv
            }
        }
    }

    /// Array convenience for ``score(_:count:errors:scores:)``.
    ///
    /// - Returns: per-window scores `[count]` and per-sensor errors `[count·D]`.
    public func score(_ windows: [Float]) -> (scores: [Float], errors: [Float]) {
        let stride = model.window * model.sensors
        precondition(windows.count % stride == 0, "window data is not a whole number of [T, D] windows")
        let n = windows.count / stride
        var errors = [Float](repeating: 0, count: n * model.sensors)
        var scores = [Float](repeating: 0, count: n)
        windows.withUnsafeBufferPointer { w in
            errors.withUnsafeMutableBufferPointer { e in
                scores.withUnsafeMutableBufferPointer { s in
                    score(w.baseAddress!, count: n, errors: e.baseAddress!, scores: s.baseAddress!)
                }
            }
        }
        return (scores, errors)
    }
}

/// Scores one window at a time with no allocation per call: the live path for a single stream.
public final class SingleWindowScorer: @unchecked Sendable {
    /// The model scored with.
    public let model: LSTMAutoencoder
    private let core: AutoencoderCore<Float>
    private let params: Buffer<Float>

    /// A scorer for `model`.
    public init(model: LSTMAutoencoder) {
        self.model = model
        core = AutoencoderCore(window: model.window, sensors: model.sensors, hidden: model.hidden, capacity: 1)
        params = Buffer(model.parameters.count)
        model.parameters.withUnsafeBufferPointer { params.pointer.update(from: $0.baseAddress!, count: $0.count) }
        core.cacheTransposedWeights(params.pointer)
        BLASThreads.set(1)
    }

    /// Scores one window `[T, D]` (scaled values).
    ///
    /// - Parameter errors: receives the `D` per-sensor errors.
    /// - Returns: the window score, the mean of the errors.
    public func score(_ window: UnsafePointer<Float>, errors: UnsafeMutablePointer<Float>) -> Float {
        core.forward(params.pointer, windows: window, count: 1, training: false)
        core.windowErrors(into: errors)
        var s: Float = 0
        for j in 0..<model.sensors { s += errors[j] }
        return s / Float(model.sensors)
    }
}
