/// Where an LSTM reads its input projection `x_t · W_ihᵀ` for sequence `b` at step `t`:
/// `base + b · strideBatch + t · strideTime`, `4H` values.
///
/// The encoder projects all steps at once (`strideTime = B·4H`); the decoder, whose input is
/// the same vector at every step, projects it once per window and reads it with `strideTime = 0`.
struct InputProjection<S: BLASScalar> {
    var base: UnsafePointer<S>
    var strideBatch: Int
    var strideTime: Int
}

/// Pointers to one LSTM layer's parameters, PyTorch `nn.LSTM` layout, gate order i, f, g, o.
struct LSTMWeights<S: BLASScalar> {
    /// `weight_hh_l0`, `[4H, H]`.
    var weightHH: UnsafePointer<S>
    /// `bias_ih_l0`, `[4H]`.
    var biasIH: UnsafePointer<S>
    /// `bias_hh_l0`, `[4H]`.
    var biasHH: UnsafePointer<S>
    /// `weight_hh_l0` transposed, `[H, 4H]`, when the caller keeps one: for a single sequence
    /// the recurrent product is then a transposed matrix–vector product, OpenBLAS's fastest form.
    var weightHHTransposed: UnsafePointer<S>? = nil
}

/// Pointers to one LSTM layer's gradients, same layout as ``LSTMWeights``.
struct LSTMGradients<S: BLASScalar> {
    var weightHH: UnsafeMutablePointer<S>
    var biasIH: UnsafeMutablePointer<S>
    var biasHH: UnsafeMutablePointer<S>
}

/// One LSTM layer's recurrence over `B` sequences of `T` steps, with the activations kept for
/// backpropagation through time. All buffers are time-major: row `t·B + b`.
///
/// ```
/// gates = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh        [B, 4H], order i, f, g, o
/// i, f, o = σ(·);  g = tanh(·)
/// c_t = f ⊙ c_{t−1} + i ⊙ g;   h_t = o ⊙ tanh(c_t)
/// ```
final class LSTMCore<S: BLASScalar>: @unchecked Sendable {
    /// Most sequences one pass can hold.
    let capacity: Int
    let steps: Int
    let hidden: Int
    /// Sequences in the current pass; the time-major row of (t, b) is `t·active + b`.
    private(set) var active: Int = 0

    /// Activated gates per step, `[T·B, 4H]`.
    let gates: Buffer<S>
    /// Cell states c_0 … c_T, `[(T+1)·B, H]` (slot 0 is the initial state).
    let cells: Buffer<S>
    /// tanh(c_t) for t = 1 … T, `[T·B, H]`.
    let tanhCells: Buffer<S>
    /// Hidden states h_0 … h_T, `[(T+1)·B, H]` (slot 0 is the initial state).
    let hiddens: Buffer<S>
    /// Gradient of the gate pre-activations per step, `[T·B, 4H]`.
    let dGates: Buffer<S>
    /// After ``backward``: gradient w.r.t. h_0, `[B, H]`.
    let dh: Buffer<S>
    /// After ``backward``: gradient w.r.t. c_0, `[B, H]`.
    let dc: Buffer<S>
    private let biasSum: Buffer<S>

    init(capacity: Int, steps: Int, hidden: Int) {
        precondition(capacity > 0 && steps > 0 && hidden > 0, "LSTM dimensions must be positive")
        self.capacity = capacity
        self.steps = steps
        self.hidden = hidden
        let g = 4 * hidden
        gates = Buffer(steps * capacity * g)
        cells = Buffer((steps + 1) * capacity * hidden)
        tanhCells = Buffer(steps * capacity * hidden)
        hiddens = Buffer((steps + 1) * capacity * hidden)
        dGates = Buffer(steps * capacity * g)
        dh = Buffer(capacity * hidden)
        dc = Buffer(capacity * hidden)
        biasSum = Buffer(g)
    }

    /// Hidden states h_t of the current pass for t in 0 … T, `[B, H]`.
    @inline(__always) func hidden(at t: Int) -> UnsafeMutablePointer<S> {
        hiddens.pointer + t * active * hidden
    }

    /// Runs the recurrence over `n ≤ capacity` sequences.
    ///
    /// - Parameters:
    ///   - input: where the input projections are read.
    ///   - h0: initial hidden state `[n, H]`, or `nil` for zeros.
    ///   - c0: initial cell state `[n, H]`, or `nil` for zeros.
    ///   - keepActivations: keep every step's gates and cell states for ``backward``; scoring
    ///     passes `false` and reuses one step's worth of buffers, which stays in cache.
    func forward(_ input: InputProjection<S>, _ w: LSTMWeights<S>, count n: Int,
                 h0: UnsafePointer<S>? = nil, c0: UnsafePointer<S>? = nil, keepActivations: Bool = true) {
        precondition(n > 0 && n <= capacity, "batch exceeds workspace capacity")
        active = n
        let H = hidden, G = 4 * hidden, nh = n * H
        for k in 0..<G { biasSum[k] = w.biasIH[k] + w.biasHH[k] }
        if let c0 { cells.pointer.update(from: c0, count: nh) } else { cells.zero(nh) }
        if let h0 { hiddens.pointer.update(from: h0, count: nh) } else { hiddens.zero(nh) }
        for t in 0..<steps {
            // Without backward, step t only needs c_{t−1}: gates and tanh(c) reuse slot 0 and the
            // cell states alternate between slots 0 and 1.
            let slot = keepActivations ? t : 0
            let gt = gates.pointer + slot * n * G
            // h_0 = 0 contributes nothing: skip the product.
            let recurrent = t > 0 || h0 != nil
            if recurrent {
                if n == 1, let wT = w.weightHHTransposed {
                    S.gemm(transA: false, transB: false, m: 1, n: G, k: H,
                           alpha: 1, a: hidden(at: t), lda: H, b: wT, ldb: G, beta: 0, c: gt, ldc: G)
                } else {
                    S.gemm(transA: false, transB: true, m: n, n: G, k: H,
                           alpha: 1, a: hidden(at: t), lda: H, b: w.weightHH, ldb: H,
                           beta: 0, c: gt, ldc: G)
                }
            }
            let cPrev = cells.pointer + (keepActivations ? t : t % 2) * nh
            let cNext = cells.pointer + (keepActivations ? t + 1 : (t + 1) % 2) * nh
            let tc = tanhCells.pointer + slot * nh
            let hNext = hidden(at: t + 1)
            for b in 0..<n {
                S.lstmCell(gates: gt + b * G, recurrent: recurrent,
                           input: input.base + b * input.strideBatch + t * input.strideTime,
                           bias: biasSum.pointer, cellPrev: cPrev + b * H, cell: cNext + b * H,
                           tanhCell: tc + b * H, hidden: hNext + b * H, units: H)
            }
        }
    }

    /// Backpropagates through time over the sequences of the last ``forward``.
    ///
    /// - Parameters:
    ///   - dOutputs: gradient of the loss w.r.t. h_1 … h_T, `[T·n, H]` time-major, or `nil`.
    ///   - dLast: gradient w.r.t. h_T, `[n, H]`, or `nil`.
    ///   - grads: parameter gradients, accumulated into (`+=`).
    /// On return ``dGates`` holds the gate pre-activation gradients (time-major), ``dh`` the
    /// gradient w.r.t. h_0 and ``dc`` w.r.t. c_0.
    func backward(dOutputs: UnsafePointer<S>?, dLast: UnsafePointer<S>?, _ w: LSTMWeights<S>,
                  _ grads: LSTMGradients<S>) {
        let n = active, H = hidden, G = 4 * hidden, nh = n * H
        if let dLast { dh.pointer.update(from: dLast, count: nh) } else { dh.zero(nh) }
        dc.zero(nh)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            if let dOutputs {
                let src = dOutputs + t * nh
                for k in 0..<nh { dh[k] += src[k] }
            }
            let gt = gates.pointer + t * n * G
            let dgt = dGates.pointer + t * n * G
            let cPrev = cells.pointer + t * nh
            let tc = tanhCells.pointer + t * nh
            for b in 0..<n {
                S.lstmCellBackward(gates: gt + b * G, dGates: dgt + b * G, dh: dh.pointer + b * H, dc: dc.pointer + b * H,
                                   cellPrev: cPrev + b * H, tanhCell: tc + b * H, units: H)
            }
            // dh_{t−1} = dGates_t · W_hh
            S.gemm(transA: false, transB: false, m: n, n: H, k: G,
                   alpha: 1, a: dgt, lda: G, b: w.weightHH, ldb: H,
                   beta: 0, c: dh.pointer, ldc: H)
        }
        // dW_hh = Σ_t dGates_tᵀ · h_{t−1}: one product over all steps (rows t·n + b line up).
        S.gemm(transA: true, transB: false, m: G, n: H, k: steps * n,
               alpha: 1, a: dGates.pointer, lda: G, b: hiddens.pointer, ldb: H,
               beta: 1, c: grads.weightHH, ldc: H)
        columnSums(dGates.pointer, rows: steps * n, columns: G, into: grads.biasIH)
        columnSums(dGates.pointer, rows: steps * n, columns: G, into: grads.biasHH)
    }
}

/// `out[k] += Σ_r m[r, k]` for a row-major `[rows, columns]` matrix.
@inline(__always)
func columnSums<S: BLASScalar>(_ m: UnsafePointer<S>, rows: Int, columns: Int, into out: UnsafeMutablePointer<S>) {
    for r in 0..<rows {
        let row = m + r * columns
        for k in 0..<columns { out[k] += row[k] }
    }
}
