/// A single-layer LSTM with PyTorch `nn.LSTM` semantics (`batch_first=True`): gate order
/// i, f, g, o; parameters `weight_ih [4H, In]`, `weight_hh [4H, H]`, `bias_ih [4H]`,
/// `bias_hh [4H]`.
///
/// This is the stand-alone layer, with a general initial state and the gradients of everything
/// it depends on; the autoencoder drives ``LSTMCore`` directly so that it can project its
/// decoder's constant input once per window.
public final class LSTMLayer<S: BLASScalar>: @unchecked Sendable {
    /// Input features, In.
    public let inputSize: Int
    /// Hidden units, H.
    public let hiddenSize: Int
    /// Steps per sequence, T.
    public let steps: Int
    /// `weight_ih [4H, In]`.
    public var weightIH: [S]
    /// `weight_hh [4H, H]`.
    public var weightHH: [S]
    /// `bias_ih [4H]`.
    public var biasIH: [S]
    /// `bias_hh [4H]`.
    public var biasHH: [S]

    /// Gradients after ``backward(_:)``, same shapes as the parameters.
    public private(set) var gradWeightIH: [S], gradWeightHH: [S], gradBiasIH: [S], gradBiasHH: [S]
    /// Gradients w.r.t. the input `[B, T, In]`, h_0 `[B, H]` and c_0 `[B, H]` after ``backward(_:)``.
    public private(set) var gradInput: [S] = [], gradH0: [S] = [], gradC0: [S] = []

    private let core: LSTMCore<S>
    private let inputTM: Buffer<S>
    private let projection: Buffer<S>
    private var batch = 0

    /// A layer with zero parameters; set them before use.
    /// - Parameters:
    ///   - inputSize: In. - hiddenSize: H. - steps: T. - capacity: most sequences per call.
    public init(inputSize: Int, hiddenSize: Int, steps: Int, capacity: Int) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.steps = steps
        let G = 4 * hiddenSize
        weightIH = Array(repeating: 0, count: G * inputSize)
        weightHH = Array(repeating: 0, count: G * hiddenSize)
        biasIH = Array(repeating: 0, count: G)
        biasHH = Array(repeating: 0, count: G)
        (gradWeightIH, gradWeightHH, gradBiasIH, gradBiasHH) = (weightIH, weightHH, biasIH, biasHH)
        core = LSTMCore(capacity: capacity, steps: steps, hidden: hiddenSize)
        inputTM = Buffer(steps * capacity * inputSize)
        projection = Buffer(steps * capacity * G)
    }

    /// Runs the layer over `x [B, T, In]` from `(h0, c0)` (`[B, H]` each; empty for zeros).
    ///
    /// - Returns: outputs `[B, T, H]`, h_T `[B, H]` and c_T `[B, H]`.
    public func forward(_ x: [S], h0: [S] = [], c0: [S] = []) -> (output: [S], hT: [S], cT: [S]) {
        let T = steps, In = inputSize, H = hiddenSize, G = 4 * H
        precondition(x.count % (T * In) == 0, "input is not whole [T, In] sequences")
        let n = x.count / (T * In)
        precondition(h0.isEmpty || h0.count == n * H, "h0 must be [B, H]")
        precondition(c0.isEmpty || c0.count == n * H, "c0 must be [B, H]")
        batch = n
        for b in 0..<n { for t in 0..<T { for k in 0..<In { inputTM[(t * n + b) * In + k] = x[(b * T + t) * In + k] } } }
        weightIH.withUnsafeBufferPointer { w in
            S.gemm(transA: false, transB: true, m: T * n, n: G, k: In, alpha: 1, a: inputTM.pointer, lda: In,
                   b: w.baseAddress!, ldb: In, beta: 0, c: projection.pointer, ldc: G)
        }
        withWeights { w in
            h0.withUnsafeBufferPointer { h0 in
                c0.withUnsafeBufferPointer { c0 in
                    core.forward(InputProjection(base: projection.pointer, strideBatch: G, strideTime: n * G), w,
                                 count: n, h0: h0.isEmpty ? nil : h0.baseAddress, c0: c0.isEmpty ? nil : c0.baseAddress)
                }
            }
        }
        var out = [S](repeating: 0, count: n * T * H)
        for t in 0..<T { for b in 0..<n { for j in 0..<H { out[(b * T + t) * H + j] = core.hidden(at: t + 1)[b * H + j] } } }
        let hT = Array(UnsafeBufferPointer(start: core.hidden(at: T), count: n * H))
        let cT = Array(UnsafeBufferPointer(start: core.cells.pointer + T * n * H, count: n * H))
        return (out, hT, cT)
    }

    /// Backpropagates `dOutput [B, T, H]` (gradient of the loss w.r.t. the outputs) through the
    /// last ``forward(_:h0:c0:)`` and sets every gradient property (overwriting, not accumulating).
    public func backward(_ dOutput: [S]) {
        let n = batch, T = steps, In = inputSize, H = hiddenSize, G = 4 * H
        precondition(dOutput.count == n * T * H, "dOutput must be [B, T, H]")
        var dTM = [S](repeating: 0, count: n * T * H)
        for b in 0..<n { for t in 0..<T { for j in 0..<H { dTM[(t * n + b) * H + j] = dOutput[(b * T + t) * H + j] } } }
        for k in gradWeightHH.indices { gradWeightHH[k] = 0 }
        for k in gradBiasIH.indices { gradBiasIH[k] = 0; gradBiasHH[k] = 0 }
        withWeights { w in
            gradWeightHH.withUnsafeMutableBufferPointer { gW in
                gradBiasIH.withUnsafeMutableBufferPointer { gBI in
                    gradBiasHH.withUnsafeMutableBufferPointer { gBH in
                        dTM.withUnsafeBufferPointer { d in
                            core.backward(dOutputs: d.baseAddress!, dLast: nil, w,
                                          LSTMGradients(weightHH: gW.baseAddress!, biasIH: gBI.baseAddress!, biasHH: gBH.baseAddress!))
                        }
                    }
                }
            }
        }
        // dW_ih = Σ dGatesᵀ · x;  dx = dGates · W_ih.
        gradWeightIH.withUnsafeMutableBufferPointer { gW in
            S.gemm(transA: true, transB: false, m: G, n: In, k: T * n, alpha: 1, a: core.dGates.pointer, lda: G,
                   b: inputTM.pointer, ldb: In, beta: 0, c: gW.baseAddress!, ldc: In)
        }
        var dxTM = [S](repeating: 0, count: T * n * In)
        weightIH.withUnsafeBufferPointer { w in
            dxTM.withUnsafeMutableBufferPointer { dx in
                S.gemm(transA: false, transB: false, m: T * n, n: In, k: G, alpha: 1, a: core.dGates.pointer, lda: G,
                       b: w.baseAddress!, ldb: In, beta: 0, c: dx.baseAddress!, ldc: In)
            }
        }
        gradInput = [S](repeating: 0, count: n * T * In)
        for b in 0..<n { for t in 0..<T { for k in 0..<In { gradInput[(b * T + t) * In + k] = dxTM[(t * n + b) * In + k] } } }
        gradH0 = Array(UnsafeBufferPointer(start: core.dh.pointer, count: n * H))
        gradC0 = Array(UnsafeBufferPointer(start: core.dc.pointer, count: n * H))
    }

    private func withWeights<R>(_ body: (LSTMWeights<S>) -> R) -> R {
        weightHH.withUnsafeBufferPointer { whh in
            biasIH.withUnsafeBufferPointer { bih in
                biasHH.withUnsafeBufferPointer { bhh in
                    body(LSTMWeights(weightHH: whh.baseAddress!, biasIH: bih.baseAddress!, biasHH: bhh.baseAddress!))
                }
            }
        }
    }
}
