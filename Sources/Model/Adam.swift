import Foundation

/// Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"), bias-corrected,
/// as PyTorch's `torch.optim.Adam` without weight decay:
///
/// ```
/// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
/// θ ← θ − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
/// ```
public struct Adam: Sendable {
    /// Step size, lr.
    public var learningRate: Float
    /// Decay of the first moment, β₁.
    public var beta1: Float
    /// Decay of the second moment, β₂.
    public var beta2: Float
    /// Added to the denominator, ε.
    public var epsilon: Float
    /// Updates taken so far, t.
    public private(set) var step = 0
    private var m: [Float]
    private var v: [Float]

    /// An optimiser for `count` parameters with PyTorch's defaults.
    public init(count: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// Applies one update to `parameters` from `gradients` (same count).
    public mutating func update(_ parameters: inout [Float], gradients: UnsafePointer<Float>) {
        precondition(parameters.count == m.count, "parameter count \(parameters.count) ≠ optimiser's \(m.count)")
        step += 1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let bc1 = 1 - Float(Foundation.pow(Double(b1), Double(step)))
        let bc2 = 1 - Float(Foundation.pow(Double(b2), Double(step)))
        let stepSize = learningRate / bc1
        let bc2Root = bc2.squareRoot()
        let n = parameters.count
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                parameters.withUnsafeMutableBufferPointer { p in
                    for k in 0..<n {
                        let g = gradients[k]
                        m[k] = b1 * m[k] + (1 - b1) * g
                        v[k] = b2 * v[k] + (1 - b2) * g * g
                        p[k] -= stepSize * m[k] / (v[k].squareRoot() / bc2Root + eps)
                    }
                }
            }
        }
    }
}


/// Scales `count` gradients so that their global L2 norm is at most `maxNorm`, as PyTorch's
/// `clip_grad_norm_` (factor `maxNorm / (norm + 1e-6)` when the norm exceeds it).
///
/// - Returns: the norm before clipping.
@discardableResult
public func clipGlobalNorm(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
    var sum: Double = 0
    for k in 0..<count { sum += Double(g[k]) * Double(g[k]) }
    let norm = Float(sum.squareRoot())
    if norm > maxNorm {
        let s = maxNorm / (norm + 1e-6)
        for k in 0..<count { g[k] *= s }
    }
    return norm
}
