import CBLAS

/// A floating-point type the numeric core runs on: `Float` in production, `Double` for
/// finite-difference gradient checks.
///
/// Every matrix product goes through BLAS (`cblas_sgemm` / `cblas_dgemm`); the element-wise
/// activations are the only other hot loops.
public protocol BLASScalar: BinaryFloatingPoint, Sendable {
    /// `C = alpha · op(A) · op(B) + beta · C` in row-major storage.
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    )
    /// One LSTM cell update for one sequence.
    ///
    /// The gate pre-activations `[4H]` (order i, f, g, o) are `input + bias`, plus `gates` when
    /// `recurrent` (the product h_{t−1}·W_hhᵀ already written there). On return `gates` holds
    /// the activated gates, `cell = f ⊙ cellPrev + i ⊙ g`, `tanhCell = tanh(cell)` and
    /// `hidden = o ⊙ tanhCell`.
    static func lstmCell(gates: UnsafeMutablePointer<Self>, recurrent: Bool, input: UnsafePointer<Self>,
                         bias: UnsafePointer<Self>, cellPrev: UnsafePointer<Self>,
                         cell: UnsafeMutablePointer<Self>, tanhCell: UnsafeMutablePointer<Self>,
                         hidden: UnsafeMutablePointer<Self>, units: Int)
    /// Backpropagates one LSTM cell for one sequence.
    ///
    /// Given the activated gates, c_{t−1}, tanh(c_t), dL/dh_t (`dh`) and dL/dc_t from the later
    /// step (`dc`), writes the gate pre-activation gradients to `dGates` and replaces `dc` with
    /// dL/dc_{t−1}.
    static func lstmCellBackward(gates: UnsafePointer<Self>, dGates: UnsafeMutablePointer<Self>,
                                 dh: UnsafePointer<Self>, dc: UnsafeMutablePointer<Self>,
                                 cellPrev: UnsafePointer<Self>, tanhCell: UnsafePointer<Self>, units: Int)
    /// The value as a `Double` (for loss reporting and tests).
    var doubleValue: Double { get }
}

@inline(__always)
private func trans(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension BLASScalar {
    @inline(__always)
    public static func lstmCellBackward(gates row: UnsafePointer<Self>, dGates drow: UnsafeMutablePointer<Self>,
                                        dh: UnsafePointer<Self>, dc: UnsafeMutablePointer<Self>,
                                        cellPrev cp: UnsafePointer<Self>, tanhCell tc: UnsafePointer<Self>, units H: Int) {
        lstmCellBackwardScalar(row, drow, dh, dc, cp, tc, units: 0..<H, hidden: H)
    }
}

/// The LSTM cell's backward step, one hidden unit at a time, for `units` of `hidden`
/// (the whole cell for Double; the tail past the last full SIMD block for Float).
@inline(__always)
func lstmCellBackwardScalar<S: BLASScalar>(_ row: UnsafePointer<S>, _ drow: UnsafeMutablePointer<S>, _ dh: UnsafePointer<S>,
                                           _ dc: UnsafeMutablePointer<S>, _ cp: UnsafePointer<S>, _ tc: UnsafePointer<S>,
                                           units: Range<Int>, hidden H: Int) {
    for j in units {
        let i = row[j], f = row[H + j], g = row[2 * H + j], o = row[3 * H + j]
        let th = tc[j], dhj = dh[j]
        let dct = dc[j] + dhj * o * (1 - th * th)
        drow[j] = dct * g * i * (1 - i)
        drow[H + j] = dct * cp[j] * f * (1 - f)
        drow[2 * H + j] = dct * i * (1 - g * g)
        drow[3 * H + j] = dhj * th * o * (1 - o)
        dc[j] = dct * f
    }
}

extension Float: BLASScalar {
    @inline(__always)
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // One row (a single window): a matrix–vector product, which OpenBLAS does far faster
        // than its general small-matrix kernel.
        if m == 1 && !transA && !transB {
            cblas_sgemv(CblasRowMajor, CblasTrans,
                        Int32(k), Int32(n), alpha, b, Int32(ldb), a, 1, beta, c, 1)
            return
        }
        cblas_sgemm(CblasRowMajor, trans(transA), trans(transB), Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always)
    public static func lstmCell(gates: UnsafeMutablePointer<Float>, recurrent: Bool, input: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>, cellPrev: UnsafePointer<Float>,
                                cell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>,
                                hidden: UnsafeMutablePointer<Float>, units: Int) {
        FastMath.lstmCell(gates: gates, recurrent: recurrent, input: input, bias: bias, cellPrev: cellPrev,
                          cell: cell, tanhCell: tanhCell, hidden: hidden, units: units)
    }

    @inline(__always)
    public static func lstmCellBackward(gates: UnsafePointer<Float>, dGates: UnsafeMutablePointer<Float>,
                                        dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>,
                                        cellPrev: UnsafePointer<Float>, tanhCell: UnsafePointer<Float>, units: Int) {
        FastMath.lstmCellBackward(gates: gates, dGates: dGates, dh: dh, dc: dc, cellPrev: cellPrev, tanhCell: tanhCell, units: units)
    }

    public var doubleValue: Double { Double(self) }
}

extension Double: BLASScalar {
    @inline(__always)
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, trans(transA), trans(transB), Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static func lstmCell(gates row: UnsafeMutablePointer<Double>, recurrent: Bool, input: UnsafePointer<Double>,
                                bias: UnsafePointer<Double>, cellPrev: UnsafePointer<Double>,
                                cell: UnsafeMutablePointer<Double>, tanhCell: UnsafeMutablePointer<Double>,
                                hidden: UnsafeMutablePointer<Double>, units H: Int) {
        for k in 0..<(4 * H) { row[k] = (recurrent ? row[k] : 0) + input[k] + bias[k] }
        for j in 0..<H {
            let i = 1 / (1 + (-row[j]).exponential), f = 1 / (1 + (-row[H + j]).exponential)
            let g = row[2 * H + j].hyperbolicTangent, o = 1 / (1 + (-row[3 * H + j]).exponential)
            (row[j], row[H + j], row[2 * H + j], row[3 * H + j]) = (i, f, g, o)
            let c = f * cellPrev[j] + i * g
            cell[j] = c
            tanhCell[j] = c.hyperbolicTangent
            hidden[j] = o * tanhCell[j]
        }
    }

    public var doubleValue: Double { self }
}

/// Controls how many threads OpenBLAS itself uses.
///
/// VerTac parallelises over windows itself (one BLAS call per shard), so OpenBLAS runs
/// single-threaded: its own threading costs more than it gains on the small products of an LSTM step.
public enum BLASThreads {
    /// Sets the OpenBLAS thread count.
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    /// The OpenBLAS thread count in force.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
