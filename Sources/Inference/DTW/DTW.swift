import Foundation
import Model

/// Dynamic time warping with dtaidistance's definitions (`dtw.distance`, `dtw_ndim.distance`):
/// cost (a − b)² (summed over dimensions for the dependent multivariate form), distance = √(the
/// minimal cumulative cost over a warping path from (0, 0) to (n−1, m−1)), band as ``DTWBand``.
///
/// ``distance(_:_:window:)`` and its multivariate form sweep the cost matrix by anti-diagonals:
/// the cells of one anti-diagonal do not depend on each other, so they are computed with SIMD
/// lanes and no loop-carried dependency. ``warpingPath(_:_:dimensions:window:)`` keeps the band
/// and backtracks.
public enum DTW {
    /// DTW distance between two univariate series.
    ///
    /// - Parameters:
    ///   - a: the first series, length n ≥ 1.
    ///   - b: the second series, length m ≥ 1.
    ///   - window: dtaidistance's `window` (nil or 0: none).
    public static func distance(_ a: [Float], _ b: [Float], window: Int? = nil) -> Double {
        distance(a, b, dimensions: 1, window: window)
    }

    /// Dependent multivariate DTW distance (`dtw_ndim.distance`): rows of `dimensions` values,
    /// row-major, the cost of a cell summed over dimensions.
    public static func distance(_ a: [Float], _ b: [Float], dimensions: Int, window: Int? = nil) -> Double {
        precondition(dimensions > 0 && a.count % dimensions == 0 && b.count % dimensions == 0,
                     "series are not whole rows of \(dimensions) values")
        let n = a.count / dimensions, m = b.count / dimensions
        precondition(n > 0 && m > 0, "DTW needs non-empty series")
        let band = DTWBand(n: n, m: m, window: window)
        return a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                AntiDiagonalSweep.cost(a: a.baseAddress!, b: b.baseAddress!, n: n, m: m, dims: dimensions, band: band)
            }
        }.squareRoot()
    }

    /// Independent per-sensor DTW of two multi-sensor series, sensors spread over `threads`.
    ///
    /// - Parameters:
    ///   - a: `[n, sensors]` row-major. - b: `[m, sensors]` row-major.
    /// - Returns: one distance per sensor.
    public static func independent(_ a: [Float], _ b: [Float], sensors: Int, window: Int? = nil, threads: Int = 1) -> [Double] {
        precondition(sensors > 0 && a.count % sensors == 0 && b.count % sensors == 0, "series are not whole rows")
        let n = a.count / sensors, m = b.count / sensors
        var out = [Double](repeating: 0, count: sensors)
        let ranges = shardRanges(sensors, parts: threads)
        out.withUnsafeMutableBufferPointer { out in
            parallelFor(ranges.count) { part in
                for s in ranges[part] {
                    let ca = (0..<n).map { a[$0 * sensors + s] }, cb = (0..<m).map { b[$0 * sensors + s] }
                    out[s] = distance(ca, cb, window: window)
                }
            }
        }
        return out
    }

    /// DTW distance with the optimal warping path, from (0, 0) to (n−1, m−1).
    ///
    /// Ties prefer the diagonal step, then i−1, then j−1 (dtaidistance's `best_path`).
    public static func warpingPath(_ a: [Float], _ b: [Float], dimensions: Int = 1, window: Int? = nil)
        -> (distance: Double, path: [(Int, Int)])
    {
        precondition(dimensions > 0 && a.count % dimensions == 0 && b.count % dimensions == 0, "series are not whole rows")
        let n = a.count / dimensions, m = b.count / dimensions
        let band = DTWBand(n: n, m: m, window: window)
        let width = band.upper - band.lower + 1
        var acc = [Double](repeating: .infinity, count: n * width)
        @inline(__always) func at(_ i: Int, _ j: Int) -> Double {
            guard i >= 0, j >= 0, band.contains(i, j) else { return .infinity }
            return acc[i * width + (j - i - band.lower)]
        }
        for i in 0..<n {
            let jLo = max(0, i + band.lower), jHi = min(m - 1, i + band.upper)
            guard jLo <= jHi else { continue }
            for j in jLo...jHi {
                var c = 0.0
                for d in 0..<dimensions {
                    let x = Double(a[i * dimensions + d]) - Double(b[j * dimensions + d])
                    c += x * x
                }
                let best = (i == 0 && j == 0) ? 0 : min(at(i - 1, j - 1), at(i - 1, j), at(i, j - 1))
                acc[i * width + (j - i - band.lower)] = c + best
            }
        }
        var path = [(n - 1, m - 1)]
        var (i, j) = (n - 1, m - 1)
        while i > 0 || j > 0 {
            let diag = at(i - 1, j - 1), up = at(i - 1, j), left = at(i, j - 1)
            if diag <= up && diag <= left { (i, j) = (i - 1, j - 1) } else if up <= left { i -= 1 } else { j -= 1 }
            path.append((i, j))
        }
        return (at(n - 1, m - 1).squareRoot(), path.reversed())
    }

    /// The DTW medoid of a set of cycles: the one whose summed dependent DTW distance to all
    /// others is smallest (the trainer's reference cycle).
    ///
    /// - Parameters:
    ///   - cycles: each `[L_k, dimensions]` row-major; at least one.
    /// - Returns: the index of the medoid and each cycle's summed distance.
    public static func medoid(_ cycles: [[Float]], dimensions: Int, window: Int? = nil, threads: Int = 1)
        -> (index: Int, totals: [Double])
    {
        precondition(!cycles.isEmpty, "medoid of no cycles")
        let k = cycles.count
        let pairs = (0..<k).flatMap { i in ((i + 1)..<k).map { (i, $0) } }
        var d = [Double](repeating: 0, count: pairs.count)
        let ranges = shardRanges(max(pairs.count, 1), parts: threads)
        if !pairs.isEmpty {
            d.withUnsafeMutableBufferPointer { d in
                parallelFor(ranges.count) { part in
                    for p in ranges[part] {
                        d[p] = distance(cycles[pairs[p].0], cycles[pairs[p].1], dimensions: dimensions, window: window)
                    }
                }
            }
        }
        var totals = [Double](repeating: 0, count: k)
        for (p, (i, j)) in pairs.enumerated() {
            totals[i] += d[p]
            totals[j] += d[p]
        }
        let index = totals.indices.min { totals[$0] < totals[$1] }!
        return (index, totals)
    }
}
