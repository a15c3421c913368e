/// Reconstruction loss, averaged over every value of the batch (PyTorch's `reduction="mean"`).
public enum Loss: String, Sendable, CaseIterable, Codable {
    /// Mean absolute error, `mean |x̂ − x|` (the default; the pump monitor's choice).
    case mae
    /// Mean squared error, `mean (x̂ − x)²`.
    case mse

    /// Writes `dL/dx̂` for `n` values into `grad` (scaled by `1/total`) and returns the summed loss.
    ///
    /// The derivative of |·| at 0 is taken as 0, as PyTorch's `L1Loss` does.
    @inline(__always)
    func evaluate<S: BLASScalar>(prediction: UnsafePointer<S>, target: UnsafePointer<S>, count n: Int,
                                 total: Int, grad: UnsafeMutablePointer<S>) -> Double {
        let scale = S(1) / S(total)
        var sum: Double = 0
        switch self {
        case .mae:
            for k in 0..<n {
                let d = prediction[k] - target[k]
                sum += abs(d).doubleValue
                grad[k] = d > 0 ? scale : (d < 0 ? -scale : 0)
            }
        case .mse:
            for k in 0..<n {
                let d = prediction[k] - target[k]
                sum += (d * d).doubleValue
                grad[k] = 2 * d * scale
            }
        }
        return sum
    }
}
