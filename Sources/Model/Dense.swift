/// A fully connected layer applied to every row (every time step): `y = x · Wᵀ + b`, with
/// PyTorch `nn.Linear` shapes `weight [out, in]`, `bias [out]`.
///
/// The kernels work on pointers so that the autoencoder runs them on its time-major buffers;
/// ``Dense`` wraps them with arrays for stand-alone use and tests.
enum DenseKernel<S: BLASScalar> {
    /// `y [rows, out] = x [rows, in] · Wᵀ + b`.
    static func forward(_ x: UnsafePointer<S>, rows: Int, inputs: Int, outputs: Int,
                        weight: UnsafePointer<S>, bias: UnsafePointer<S>, into y: UnsafeMutablePointer<S>) {
        for r in 0..<rows { (y + r * outputs).update(from: bias, count: outputs) }
        S.gemm(transA: false, transB: true, m: rows, n: outputs, k: inputs,
               alpha: 1, a: x, lda: inputs, b: weight, ldb: inputs, beta: 1, c: y, ldc: outputs)
    }

    /// Accumulates `dW += dyᵀ · x` and `db += Σ dy`, and writes `dx = dy · W` (when `dx` is given).
    static func backward(_ dy: UnsafePointer<S>, x: UnsafePointer<S>, rows: Int, inputs: Int, outputs: Int,
                         weight: UnsafePointer<S>, gradWeight: UnsafeMutablePointer<S>, gradBias: UnsafeMutablePointer<S>,
                         gradInput dx: UnsafeMutablePointer<S>?) {
        S.gemm(transA: true, transB: false, m: outputs, n: inputs, k: rows,
               alpha: 1, a: dy, lda: outputs, b: x, ldb: inputs, beta: 1, c: gradWeight, ldc: inputs)
        columnSums(dy, rows: rows, columns: outputs, into: gradBias)
        if let dx {
            S.gemm(transA: false, transB: false, m: rows, n: inputs, k: outputs,
                   alpha: 1, a: dy, lda: outputs, b: weight, ldb: inputs, beta: 0, c: dx, ldc: inputs)
        }
    }
}

/// A stand-alone dense layer over rows of `inputSize` values (`nn.Linear` semantics).
public struct Dense<S: BLASScalar>: Sendable {
    public let inputSize: Int
    public let outputSize: Int
    /// `weight [out, in]`.
    public var weight: [S]
    /// `bias [out]`.
    public var bias: [S]

    public init(inputSize: Int, outputSize: Int, weight: [S], bias: [S]) {
        precondition(weight.count == inputSize * outputSize && bias.count == outputSize, "dense parameter shapes")
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.weight = weight
        self.bias = bias
    }

    /// `y [rows, out]` for `x [rows, in]`.
    public func forward(_ x: [S]) -> [S] {
        precondition(x.count % inputSize == 0, "input is not whole rows")
        let rows = x.count / inputSize
        var y = [S](repeating: 0, count: rows * outputSize)
        x.withUnsafeBufferPointer { x in weight.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { b in
            y.withUnsafeMutableBufferPointer { y in
                DenseKernel<S>.forward(x.baseAddress!, rows: rows, inputs: inputSize, outputs: outputSize,
                                       weight: w.baseAddress!, bias: b.baseAddress!, into: y.baseAddress!)
            }
        } } }
        return y
    }

    /// Gradients of the weight, bias and input for `dy [rows, out]` at input `x`.
    public func backward(_ dy: [S], x: [S]) -> (weight: [S], bias: [S], input: [S]) {
        let rows = x.count / inputSize
        precondition(dy.count == rows * outputSize, "dy must be [rows, out]")
        var gw = [S](repeating: 0, count: weight.count), gb = [S](repeating: 0, count: outputSize)
        var gx = [S](repeating: 0, count: x.count)
        dy.withUnsafeBufferPointer { dy in x.withUnsafeBufferPointer { x in weight.withUnsafeBufferPointer { w in
            gw.withUnsafeMutableBufferPointer { gw in gb.withUnsafeMutableBufferPointer { gb in gx.withUnsafeMutableBufferPointer { gx in
                DenseKernel<S>.backward(dy.baseAddress!, x: x.baseAddress!, rows: rows, inputs: inputSize, outputs: outputSize,
                                        weight: w.baseAddress!, gradWeight: gw.baseAddress!, gradBias: gb.baseAddress!,
                                        gradInput: gx.baseAddress!)
            } } }
        } } }
        return (gw, gb, gx)
    }
}
