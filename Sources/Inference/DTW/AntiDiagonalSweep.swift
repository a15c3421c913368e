/// The DTW cost matrix swept by anti-diagonals k = i + j.
///
/// On diagonal k the cells have d = j − i of k's parity; they are stored compactly at
/// e = (d − lower − p) / 2 with p = (k − lower) mod 2. Then the three predecessors of a cell are
/// D_{k−2}[e], and D_{k−1}[e + p − 1], D_{k−1}[e + p]; as e grows i falls and j rises by one, so
/// the costs read `a` backwards and `b` forwards, both contiguous after reversing `a`. No cell of
/// a diagonal depends on another, so each diagonal is a straight SIMD loop.
struct AntiDiagonalSweep {
    typealias V = SIMD4<Double>

    /// The minimal cumulative cost at (n−1, m−1) for row-major `a [n, dims]` and `b [m, dims]`.
    static func cost(a: UnsafePointer<Float>, b: UnsafePointer<Float>, n: Int, m: Int, dims: Int, band: DTWBand) -> Double {
        let pad = 2
        let size = (band.upper - band.lower) / 2 + 1 + 2 * pad + 4
        // `a` reversed and `b`, both per dimension (column-major), in double precision.
        let ar = UnsafeMutablePointer<Double>.allocate(capacity: n * dims)
        let bc = UnsafeMutablePointer<Double>.allocate(capacity: m * dims)
        let store = UnsafeMutablePointer<Double>.allocate(capacity: 3 * size)
        defer { ar.deallocate(); bc.deallocate(); store.deallocate() }
        for x in 0..<n { for d in 0..<dims { ar[d * n + x] = Double(a[(n - 1 - x) * dims + d]) } }
        for j in 0..<m { for d in 0..<dims { bc[d * m + j] = Double(b[j * dims + d]) } }
        store.initialize(repeating: .infinity, count: 3 * size)
        var cur = store + pad, prev1 = store + size + pad, prev2 = store + 2 * size + pad
        let last = n + m - 2
        var result = Double.infinity
        for k in 0...last {
            let p = (k - band.lower) & 1
            // Cells of this diagonal inside both the band and the matrix.
            var dLo = max(band.lower, -k, k - 2 * (n - 1))
            var dHi = min(band.upper, k, 2 * (m - 1) - k)
            if (dLo - band.lower - p) & 1 != 0 { dLo += 1 }
            if (dHi - band.lower - p) & 1 != 0 { dHi -= 1 }
            if dLo <= dHi {
                let eLo = (dLo - band.lower - p) / 2, eHi = (dHi - band.lower - p) / 2
                let x0 = n - 1 - (k - dLo) / 2, j0 = (k + dLo) / 2
                if k == 0 {
                    var c = 0.0
                    for d in 0..<dims { let x = ar[d * n + x0] - bc[d * m + j0]; c += x * x }
                    cur[eLo] = c
                } else {
                    diagonal(cur, prev1, prev2, eLo: eLo, count: eHi - eLo + 1, s: p - 1,
                             a: ar + x0, b: bc + j0, n: n, m: m, dims: dims)
                }
                // Guard slots: the next two diagonals read at most two beyond this range.
                cur[eLo - 2] = .infinity; cur[eLo - 1] = .infinity
                cur[eHi + 1] = .infinity; cur[eHi + 2] = .infinity
                if k == last { result = cur[(m - n - band.lower - p) / 2] }
            } else {
                // No cell here (a narrow band skips every other diagonal): successors must read +∞.
                (cur - pad).update(repeating: .infinity, count: size)
            }
            (prev2, prev1, cur) = (prev1, cur, prev2)
        }
        return result
    }

    @inline(__always)
    private static func diagonal(_ dk: UnsafeMutablePointer<Double>, _ d1: UnsafePointer<Double>, _ d2: UnsafePointer<Double>,
                                 eLo: Int, count: Int, s: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
                                 n: Int, m: Int, dims: Int) {
        var t = 0
        while t + 4 <= count {
            let e = eLo + t
            var c = V(repeating: 0)
            for d in 0..<dims {
                let x = load(a + d * n + t) - load(b + d * m + t)
                c += x * x
            }
            let best = vmin(load(d2 + e), vmin(load(d1 + e + s), load(d1 + e + s + 1)))
            UnsafeMutableRawPointer(dk + e).storeBytes(of: c + best, as: V.self)
            t += 4
        }
        while t < count {
            let e = eLo + t
            var c = 0.0
            for d in 0..<dims { let x = a[d * n + t] - b[d * m + t]; c += x * x }
            dk[e] = c + min(d2[e], min(d1[e + s], d1[e + s + 1]))
            t += 1
        }
    }

    /// Lane-wise minimum as a compare and blend (`pointwiseMin`'s NaN rules make it scalar).
    @inline(__always) private static func vmin(_ x: V, _ y: V) -> V { x.replacing(with: y, where: y .< x) }

    @inline(__always) private static func load(_ p: UnsafePointer<Double>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
}
