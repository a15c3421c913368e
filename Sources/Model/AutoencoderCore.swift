/// The LSTM autoencoder's forward and backward pass over up to `capacity` windows, with every
/// buffer it needs allocated once.
///
/// ```
/// x[B,T,D] → encoder LSTM(D→H) → h_T
/// h_T repeated T times → decoder LSTM(H→H, zero initial state) → out[B,T,H]
/// x̂ = out · Wᵀ + b      (Dense H→D per step)
/// ```
/// The decoder's input is the same vector at every step, so its input projection
/// `h_T · W_ihᵀ` is computed once per window and read with a zero time stride.
/// Parameters are read from a flat vector laid out by ``ParameterLayout``.
final class AutoencoderCore<S: BLASScalar>: @unchecked Sendable {
    let window: Int
    let sensors: Int
    let hidden: Int
    let capacity: Int
    private let o: ParameterLayout.Offsets
    let encoder: LSTMCore<S>
    let decoder: LSTMCore<S>
    /// Windows of the current pass, time-major `[T·n, D]` (row t·n + b).
    let input: Buffer<S>
    /// Reconstruction, time-major `[T·n, D]`.
    let output: Buffer<S>
    /// dL/dx̂, time-major `[T·n, D]`.
    let dOutput: Buffer<S>
    /// After ``backward(_:grads:inputGradient:)`` with `inputGradient`: dL/dx, batch-major `[n, T, D]`.
    let dInput: Buffer<S>
    private let encProjection: Buffer<S>
    private let decProjection: Buffer<S>
    private let dDecoderOut: Buffer<S>
    private let dProjection: Buffer<S>
    private let dEncoded: Buffer<S>
    private let scratch: Buffer<S>
    private(set) var count = 0

    init(window: Int, sensors: Int, hidden: Int, capacity: Int) {
        self.window = window
        self.sensors = sensors
        self.hidden = hidden
        self.capacity = capacity
        o = ParameterLayout(sensors: sensors, hidden: hidden).offsets
        encoder = LSTMCore(capacity: capacity, steps: window, hidden: hidden)
        decoder = LSTMCore(capacity: capacity, steps: window, hidden: hidden)
        let td = window * capacity * sensors
        input = Buffer(td)
        output = Buffer(td)
        dOutput = Buffer(td)
        dInput = Buffer(td)
        scratch = Buffer(td)
        encProjection = Buffer(window * capacity * 4 * hidden)
        decProjection = Buffer(capacity * 4 * hidden)
        dDecoderOut = Buffer(window * capacity * hidden)
        dProjection = Buffer(capacity * 4 * hidden)
        dEncoded = Buffer(capacity * hidden)
    }

    /// Transposed recurrent weights `[H, 4H]` of encoder and decoder, for single-window passes.
    private var transposedHH: (encoder: Buffer<S>, decoder: Buffer<S>)?

    /// Keeps transposed copies of the recurrent weights of `p` for single-window passes; the
    /// caller must pass the same parameters to every later ``forward(_:windows:count:training:)``.
    func cacheTransposedWeights(_ p: UnsafePointer<S>) {
        let H = hidden, G = 4 * hidden
        func transpose(_ w: UnsafePointer<S>) -> Buffer<S> {
            let t = Buffer<S>(G * H)
            for r in 0..<G { for c in 0..<H { t[c * G + r] = w[r * H + c] } }
            return t
        }
        transposedHH = (transpose(p + o.encWHH), transpose(p + o.decWHH))
    }

    private func encoderWeights(_ p: UnsafePointer<S>) -> LSTMWeights<S> {
        LSTMWeights(weightHH: p + o.encWHH, biasIH: p + o.encBIH, biasHH: p + o.encBHH,
                    weightHHTransposed: transposedHH.map { UnsafePointer($0.encoder.pointer) })
    }

    private func decoderWeights(_ p: UnsafePointer<S>) -> LSTMWeights<S> {
        LSTMWeights(weightHH: p + o.decWHH, biasIH: p + o.decBIH, biasHH: p + o.decBHH,
                    weightHHTransposed: transposedHH.map { UnsafePointer($0.decoder.pointer) })
    }

    /// Reconstructs `n` windows given batch-major as `[n, T, D]` (scaled values).
    ///
    /// - Parameter training: keep what ``backward(_:grads:inputGradient:)`` needs.
    func forward(_ p: UnsafePointer<S>, windows x: UnsafePointer<S>, count n: Int, training: Bool = true) {
        precondition(n > 0 && n <= capacity, "batch exceeds workspace capacity")
        count = n
        let T = window, D = sensors, H = hidden, G = 4 * hidden
        // Batch-major → time-major, so each step's rows are contiguous.
        if n == 1 {
            input.pointer.update(from: x, count: T * D)
        } else {
            for b in 0..<n {
                for t in 0..<T {
                    (input.pointer + (t * n + b) * D).update(from: x + (b * T + t) * D, count: D)
                }
            }
        }
        // Encoder input projection for all steps at once: [T·n, D] · W_ihᵀ → [T·n, 4H].
        S.gemm(transA: false, transB: true, m: T * n, n: G, k: D,
               alpha: 1, a: input.pointer, lda: D, b: p + o.encWIH, ldb: D,
               beta: 0, c: encProjection.pointer, ldc: G)
        encoder.forward(InputProjection(base: encProjection.pointer, strideBatch: G, strideTime: n * G),
                        encoderWeights(p), count: n, keepActivations: training)
        // Decoder input projection once per window.
        S.gemm(transA: false, transB: true, m: n, n: G, k: H,
               alpha: 1, a: encoder.hidden(at: T), lda: H, b: p + o.decWIH, ldb: H,
               beta: 0, c: decProjection.pointer, ldc: G)
        decoder.forward(InputProjection(base: decProjection.pointer, strideBatch: G, strideTime: 0),
                        decoderWeights(p), count: n, keepActivations: training)
        // Dense per step: x̂ = out · Wᵀ + b.
        DenseKernel<S>.forward(decoder.hidden(at: 1), rows: T * n, inputs: H, outputs: D,
                               weight: p + o.outW, bias: p + o.outB, into: output.pointer)
    }

    /// The loss of the last forward pass, summed over its values; fills ``dOutput`` with the
    /// gradient of (sum / `total`).
    func loss(_ loss: Loss, total: Int) -> Double {
        loss.evaluate(prediction: output.pointer, target: input.pointer, count: window * count * sensors,
                      total: total, grad: dOutput.pointer)
    }

    /// Backpropagates ``dOutput`` and accumulates the parameter gradients into `g` (flat layout).
    ///
    /// - Parameter inputGradient: also compute ``dInput``: the gradient w.r.t. the windows,
    ///   counting both their role as input and as reconstruction target.
    func backward(_ p: UnsafePointer<S>, grads g: UnsafeMutablePointer<S>, inputGradient: Bool = false) {
        let n = count, T = window, D = sensors, H = hidden, G = 4 * hidden, rows = T * n
        let decOut = UnsafePointer(decoder.hidden(at: 1))
        DenseKernel<S>.backward(dOutput.pointer, x: decOut, rows: rows, inputs: H, outputs: D, weight: p + o.outW,
                                gradWeight: g + o.outW, gradBias: g + o.outB, gradInput: dDecoderOut.pointer)
        // Decoder.
        decoder.backward(dOutputs: dDecoderOut.pointer, dLast: nil, decoderWeights(p),
                         LSTMGradients(weightHH: g + o.decWHH, biasIH: g + o.decBIH, biasHH: g + o.decBHH))
        // The decoder input was h_T at every step: its projection's gradient is the sum over steps.
        dProjection.zero(n * G)
        for t in 0..<T {
            let src = decoder.dGates.pointer + t * n * G
            for k in 0..<(n * G) { dProjection[k] += src[k] }
        }
        let hT = UnsafePointer(encoder.hidden(at: T))
        S.gemm(transA: true, transB: false, m: G, n: H, k: n,
               alpha: 1, a: dProjection.pointer, lda: G, b: hT, ldb: H,
               beta: 1, c: g + o.decWIH, ldc: H)
        S.gemm(transA: false, transB: false, m: n, n: H, k: G,
               alpha: 1, a: dProjection.pointer, lda: G, b: p + o.decWIH, ldb: H,
               beta: 0, c: dEncoded.pointer, ldc: H)
        // Encoder.
        encoder.backward(dOutputs: nil, dLast: dEncoded.pointer, encoderWeights(p),
                         LSTMGradients(weightHH: g + o.encWHH, biasIH: g + o.encBIH, biasHH: g + o.encBHH))
        S.gemm(transA: true, transB: false, m: G, n: D, k: rows,
               alpha: 1, a: encoder.dGates.pointer, lda: G, b: input.pointer, ldb: D,
               beta: 1, c: g + o.encWIH, ldc: D)
        guard inputGradient else { return }
        // Through the encoder, minus the target's share (the target is the input itself).
        S.gemm(transA: false, transB: false, m: rows, n: D, k: G,
               alpha: 1, a: encoder.dGates.pointer, lda: G, b: p + o.encWIH, ldb: D,
               beta: 0, c: scratch.pointer, ldc: D)
        for b in 0..<n {
            for t in 0..<T {
                let src = scratch.pointer + (t * n + b) * D, dsrc = dOutput.pointer + (t * n + b) * D
                let dst = dInput.pointer + (b * T + t) * D
                for j in 0..<D { dst[j] = src[j] - dsrc[j] }
            }
        }
    }

    /// Per-window, per-sensor reconstruction error of the last forward pass:
    /// `errors[b·D + j] = mean over t of |x̂ − x|` (scaled units); returns nothing else.
    func windowErrors(into errors: UnsafeMutablePointer<S>) {
        let n = count, T = window, D = sensors
        errors.update(repeating: 0, count: n * D)
        for t in 0..<T {
            for b in 0..<n {
                let r = (t * n + b) * D
                let e = errors + b * D
                for j in 0..<D { e[j] += abs(output[r + j] - input[r + j]) }
            }
        }
        let inv = S(1) / S(T)
        for k in 0..<(n * D) { errors[k] *= inv }
    }
}
