import Foundation
import Model

/// A finished cycle beside the reference cycle, for display: both reduced to at most `points`
/// buckets along the cycle's time axis, the reference warped onto the cycle by a DTW path, and
/// the deviation of each sensor in each bucket.
public struct CycleAlignment: Sendable, Equatable, Codable {
    public var sensors: [String]
    /// "dtw" when a warping path aligned the reference, "linear" when it was stretched evenly.
    public var alignedBy: String
    /// Seconds from the cycle's first row to the middle of each bucket.
    public var time: [Double]
    /// Rows per bucket.
    public var rowsPerPoint: Int
    /// `[sensor][point]`, raw units: the cycle's mean per bucket, and the reference rows aligned
    /// to the bucket's rows.
    public var cycle: [[Float]]
    public var reference: [[Float]]
    /// `[sensor][point]`: root mean square difference in scaled units over the root of the sensor's
    /// DTW threshold (mean squared deviation per row), so 1 is a deviation at the threshold.
    public var deviation: [[Float]]

    /// - Parameters:
    ///   - values: the cycle `[n, D]` and `times` its row times; `reference` `[m, D]`, raw units.
    ///   - path: pairs (cycle row, reference row) in order, as ``CycleReport/path``; empty
    ///     stretches the reference evenly instead.
    public static func make(sensors: [String], values: [Float], times: [Double], reference: [Float], path: [[Int]],
                            scaler: MinMaxScaler, dtwThreshold: [Float]?, points: Int) -> CycleAlignment {
        let D = sensors.count
        let n = D > 0 ? values.count / D : 0, m = D > 0 ? reference.count / D : 0
        guard n > 0, m > 0 else {
            return CycleAlignment(sensors: sensors, alignedBy: "linear", time: [], rowsPerPoint: 0,
                                  cycle: Array(repeating: [], count: D), reference: Array(repeating: [], count: D),
                                  deviation: Array(repeating: [], count: D))
        }
        // Reference position for every cycle row: the mean of the rows the path pairs with it,
        // interpolated between the cycle rows the path names.
        var position = [Double](repeating: .nan, count: n)
        let usable = path.filter { $0.count == 2 && (0..<n).contains($0[0]) && (0..<m).contains($0[1]) }
        if !usable.isEmpty {
            var sum = [Double](repeating: 0, count: n), count = [Int](repeating: 0, count: n)
            for p in usable {
                sum[p[0]] += Double(p[1])
                count[p[0]] += 1
            }
            var known: [(Int, Double)] = []
            for i in 0..<n where count[i] > 0 { known.append((i, sum[i] / Double(count[i]))) }
            var k = 0
            for i in 0..<n {
                while k + 1 < known.count && known[k + 1].0 <= i { k += 1 }
                let (i0, p0) = known[k]
                if i < i0 {  // before the first named row: from 0
                    position[i] = p0 * Double(i) / Double(i0)
                } else if k + 1 < known.count {  // between two named rows
                    let (i1, p1) = known[k + 1]
                    position[i] = p0 + (p1 - p0) * Double(i - i0) / Double(i1 - i0)
                } else {  // after the last: on to the reference's end
                    position[i] = i == i0 ? p0 : p0 + (Double(m - 1) - p0) * Double(i - i0) / Double(n - 1 - i0)
                }
            }
        } else {
            for i in 0..<n { position[i] = n > 1 ? Double(i) * Double(m - 1) / Double(n - 1) : 0 }
        }
        func referenceValue(_ i: Int, _ j: Int) -> Float {
            let p = min(max(position[i], 0), Double(m - 1))
            let lo = Int(p.rounded(.down)), hi = min(lo + 1, m - 1)
            let f = Float(p - Double(lo))
            return reference[lo * D + j] * (1 - f) + reference[hi * D + j] * f
        }
        let per = max(1, (n + max(points, 1) - 1) / max(points, 1))
        let buckets = (n + per - 1) / per
        var cycle = [[Float]](repeating: [Float](repeating: 0, count: buckets), count: D)
        var ref = cycle, deviation = cycle
        var time = [Double](repeating: 0, count: buckets)
        let t0 = times.first ?? 0
        for b in 0..<buckets {
            let lo = b * per, hi = min(n, lo + per)
            time[b] = ((times.count == n ? (times[lo] + times[hi - 1]) / 2 : Double(lo + hi - 1) / 2) - t0)
            for j in 0..<D {
                var c: Float = 0, r: Float = 0, sq: Float = 0
                let range = scaler.range(j)
                for i in lo..<hi {
                    let v = values[i * D + j], rv = referenceValue(i, j)
                    c += v
                    r += rv
                    let d = (v - rv) / range
                    sq += d * d
                }
                let k = Float(hi - lo)
                cycle[j][b] = c / k
                ref[j][b] = r / k
                let threshold = dtwThreshold.map { $0.count == D && $0[j] > 0 ? $0[j] : 1 } ?? 1
                deviation[j][b] = (sq / k / threshold).squareRoot()
            }
        }
        return CycleAlignment(sensors: sensors, alignedBy: usable.isEmpty ? "linear" : "dtw", time: time, rowsPerPoint: per,
                              cycle: cycle, reference: ref, deviation: deviation)
    }
}
