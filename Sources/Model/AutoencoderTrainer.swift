/// Trains an ``LSTMAutoencoder`` on batches of scaled windows.
///
/// A batch is split into one shard per thread; each shard runs forward and backward on its own
/// workspace (OpenBLAS single-threaded inside), the shard gradients are summed, clipped to a
/// global norm, and Adam updates the parameters. The result does not depend on the thread
/// count beyond float rounding of the gradient sum.
public final class AutoencoderTrainer: @unchecked Sendable {
    /// The model being trained.
    public private(set) var model: LSTMAutoencoder
    /// The optimiser.
    public var optimizer: Adam
    /// The reconstruction loss.
    public let loss: Loss
    /// Global gradient-norm limit; `nil` disables clipping.
    public var clipNorm: Float?
    /// Largest batch a step accepts.
    public let maxBatch: Int
    private let threads: Int
    private let cores: [AutoencoderCore<Float>]
    private let grads: [Buffer<Float>]

    /// - Parameters:
    ///   - model: the initial model.
    ///   - loss: reconstruction loss (MAE by default).
    ///   - learningRate: Adam's step size.
    ///   - clipNorm: global-norm clipping limit (1.0 by default; `nil` for none).
    ///   - maxBatch: the largest batch that ``step(_:count:)`` will be given.
    ///   - threads: worker threads (shards per batch).
    public init(model: LSTMAutoencoder, loss: Loss = .mae, learningRate: Float = 1e-3,
                clipNorm: Float? = 1.0, maxBatch: Int = 256, threads: Int = 1) {
        precondition(maxBatch > 0 && threads > 0, "batch and thread count must be positive")
        self.model = model
        self.loss = loss
        self.clipNorm = clipNorm
        self.maxBatch = maxBatch
        self.threads = threads
        optimizer = Adam(count: model.parameters.count, learningRate: learningRate)
        let perShard = (maxBatch + threads - 1) / threads
        cores = (0..<threads).map { _ in
            AutoencoderCore(window: model.window, sensors: model.sensors, hidden: model.hidden, capacity: perShard)
        }
        grads = (0..<threads).map { _ in Buffer(model.parameters.count) }
        BLASThreads.set(1)
    }

    /// One optimisation step on `count` windows laid out `[count, T, D]`.
    ///
    /// - Returns: the batch's mean loss before the update.
    @discardableResult
    public func step(_ windows: UnsafePointer<Float>, count: Int) -> Double {
        let total = lossAndGradients(windows, count: count)
        let g = grads[0].pointer
        if let clipNorm { clipGlobalNorm(g, count: model.parameters.count, maxNorm: clipNorm) }
        optimizer.update(&model.parameters, gradients: g)
        return total
    }

    /// The mean loss over `count` windows without updating anything.
    public func evaluate(_ windows: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        var start = 0
        let T = model.window, D = model.sensors
        while start < count {
            let n = min(maxBatch, count - start)
            sum += forwardShards(windows + start * T * D, count: n, total: 1, backward: false)
            start += n
        }
        return sum / Double(count * T * D)
    }

    /// Replaces the model (e.g. to restore the best weights after early stopping).
    public func restore(_ best: LSTMAutoencoder) {
        precondition(best.layout == model.layout && best.window == model.window, "architecture differs")
        model = best
    }

    /// Computes the mean loss and leaves the summed gradient in `grads[0]`.
    private func lossAndGradients(_ windows: UnsafePointer<Float>, count: Int) -> Double {
        precondition(count > 0 && count <= maxBatch, "batch of \(count) outside 1...\(maxBatch)")
        let total = count * model.window * model.sensors
        let sum = forwardShards(windows, count: count, total: total, backward: true)
        return sum / Double(total)
    }

    private func forwardShards(_ windows: UnsafePointer<Float>, count: Int, total: Int, backward: Bool) -> Double {
        let ranges = shardRanges(count, parts: count >= 8 ? threads : 1)
        let stride = model.window * model.sensors
        let nParams = model.parameters.count
        var sums = [Double](repeating: 0, count: ranges.count)
        model.parameters.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { sums in
                let params = p.baseAddress!
                parallelFor(ranges.count) { i in
                    let r = ranges[i], core = cores[i]
                    core.forward(params, windows: windows + r.lowerBound * stride, count: r.count, training: backward)
                    sums[i] = core.loss(loss, total: total)
                    if backward {
                        grads[i].zero()
                        core.backward(params, grads: grads[i].pointer)
                    }
                }
            }
        }
        if backward {
            let g0 = grads[0].pointer
            for i in 1..<max(ranges.count, 1) {
                let gi = grads[i].pointer
                for k in 0..<nParams { g0[k] += gi[k] }
            }
        }
        return sums.reduce(0, +)
    }
}
