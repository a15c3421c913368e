/// Savitzky–Golay smoothing (1964): a least-squares polynomial of `order` fitted to each window
/// of `2·halfWidth + 1` samples, evaluated at the centre; at the edges the polynomial fitted to
/// the first (last) full window is evaluated at the edge positions (scipy's `mode="interp"`).
/// Polynomials up to `order` pass through unchanged.
public struct SavitzkyGolay: Sendable {
    public let halfWidth: Int
    public let order: Int
    /// weights[q][i]: contribution of window sample i to the fit evaluated at offset q − halfWidth.
    private let weights: [[Double]]

    public init(halfWidth: Int = 3, order: Int = 2) {
        precondition(halfWidth >= 1 && order >= 0 && order < 2 * halfWidth + 1, "invalid Savitzky–Golay parameters")
        self.halfWidth = halfWidth
        self.order = order
        let n = 2 * halfWidth + 1, p = order + 1
        // A[i][k] = x_i^k with x_i = i − halfWidth; weights = A (AᵀA)⁻¹ Aᵀ.
        let a = (0..<n).map { i in (0..<p).map { k in pow(Double(i - halfWidth), k) } }
        var ata = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
        for r in 0..<p { for c in 0..<p { for i in 0..<n { ata[r][c] += a[i][r] * a[i][c] } } }
        let inv = invert(ata)
        weights = (0..<n).map { q in
            (0..<n).map { i in
                var s = 0.0
                for r in 0..<p { for c in 0..<p { s += a[q][r] * inv[r][c] * a[i][c] } }
                return s
            }
        }
    }

    /// The smoothed series (same length). Series shorter than the window are returned unchanged.
    public func smooth(_ x: [Float]) -> [Float] {
        let n = x.count, w = 2 * halfWidth + 1
        guard n >= w else { return x }
        var out = [Float](repeating: 0, count: n)
        for t in 0..<n {
            let start = min(max(0, t - halfWidth), n - w)
            let q = t - start
            var s = 0.0
            for i in 0..<w { s += weights[q][i] * Double(x[start + i]) }
            out[t] = Float(s)
        }
        return out
    }
}

@inline(__always) private func pow(_ x: Double, _ k: Int) -> Double {
    var r = 1.0
    for _ in 0..<k { r *= x }
    return r
}

/// Gauss–Jordan inverse of a small symmetric positive-definite matrix.
private func invert(_ m: [[Double]]) -> [[Double]] {
    let n = m.count
    var a = m
    var inv = (0..<n).map { r in (0..<n).map { c in r == c ? 1.0 : 0.0 } }
    for col in 0..<n {
        let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
        a.swapAt(col, pivot)
        inv.swapAt(col, pivot)
        let d = a[col][col]
        for k in 0..<n { a[col][k] /= d; inv[col][k] /= d }
        for r in 0..<n where r != col {
            let f = a[r][col]
            for k in 0..<n { a[r][k] -= f * a[col][k]; inv[r][k] -= f * inv[col][k] }
        }
    }
    return inv
}
