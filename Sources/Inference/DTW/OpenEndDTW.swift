/// Open-end DTW of a running cycle against a reference cycle, per sensor, updated one row at a
/// time in O(window) per row and sensor — never recomputed from the start.
///
/// Row i of the running cycle may align with reference rows j where |j − i| < window (clipped
/// to the reference; once the cycle outruns the reference it aligns with its last row, so a
/// phase that runs long keeps accumulating cost). The open-end cost after row i is
/// `C_i = min_j D_i[j]`, the cheapest alignment of the cycle so far with any prefix of the
/// reference; it never decreases. The DTW deviation of a window of rows is the growth of C over
/// the window divided by its length (mean squared aligned deviation per row, scaled units).
public struct OpenEndDTW: Sendable {
    /// Reference rows `[m, sensors]`, row-major, scaled.
    public let reference: [Float]
    /// Sensors per row.
    public let sensors: Int
    /// Reference length m.
    public let length: Int
    /// Band half-width.
    public let window: Int
    /// Rows consumed in this cycle.
    public private(set) var rows = 0
    /// Open-end cost per sensor after the last row.
    public private(set) var cost: [Double]
    /// The reference row the last row aligns with: the end of the cheapest alignment of all
    /// sensors together, `argmin_j Σ_s D_i^s[j]` over the band (sensors are aligned
    /// independently, so the sum is a lower bound of a joint alignment; it places the cycle in
    /// the reference's phases — where the golden-cycle envelope is looked up).
    public private(set) var position = 0
    private var previous: [Double]   // D_{i−1}[j], [sensors, m]
    private var current: [Double]

    /// - Parameters:
    ///   - reference: `[m, sensors]` row-major (scaled), m ≥ 1.
    ///   - window: band half-width (≥ 1).
    public init(reference: [Float], sensors: Int, window: Int) {
        precondition(sensors > 0 && !reference.isEmpty && reference.count % sensors == 0, "reference is not whole rows")
        precondition(window > 0, "window must be positive")
        self.reference = reference
        self.sensors = sensors
        self.length = reference.count / sensors
        self.window = window
        cost = [Double](repeating: 0, count: sensors)
        previous = [Double](repeating: .infinity, count: sensors * length)
        current = previous
    }

    /// Starts a new cycle.
    public mutating func reset() {
        rows = 0
        position = 0
        for k in cost.indices { cost[k] = 0 }
    }

    /// The reference rows row `i` may align with.
    @inline(__always) func band(_ i: Int) -> ClosedRange<Int> {
        let lo = min(max(0, i - window + 1), length - 1)
        let hi = min(length - 1, i + window - 1)
        return lo...max(lo, hi)
    }

    /// Consumes one row of `sensors` scaled values and updates ``cost``.
    public mutating func append(_ row: UnsafePointer<Float>) {
        let i = rows, m = length, D = sensors
        let b = band(i), pb = i > 0 ? band(i - 1) : b
        var at = b.lowerBound
        reference.withUnsafeBufferPointer { ref in
            previous.withUnsafeBufferPointer { prev in
                current.withUnsafeMutableBufferPointer { cur in
                    cost.withUnsafeMutableBufferPointer { cost in
                        for s in 0..<D {
                            let p = prev.baseAddress! + s * m, c = cur.baseAddress! + s * m
                            let x = Double(row[s])
                            @inline(__always) func up(_ j: Int) -> Double { i > 0 && pb.contains(j) ? p[j] : .infinity }
                            var best = Double.infinity
                            var left = Double.infinity
                            for j in b {
                                let r = Double(ref[j * D + s]) - x
                                let pred = i == 0 ? (j == b.lowerBound && j == 0 ? 0 : left)
                                                  : min(left, up(j), j > 0 ? up(j - 1) : .infinity)
                                let v = r * r + pred
                                c[j] = v
                                left = v
                                if v < best { best = v }
                            }
                            cost[s] = best
                        }
                        var bestSum = Double.infinity
                        for j in b {
                            var sum = 0.0
                            for s in 0..<D { sum += cur[s * m + j] }
                            if sum < bestSum { bestSum = sum; at = j }
                        }
                    }
                }
            }
        }
        swap(&previous, &current)
        position = at
        rows += 1
    }

    /// Array convenience for ``append(_:)``.
    public mutating func append(_ row: [Float]) {
        precondition(row.count == sensors, "row has \(row.count) values, expected \(sensors)")
        row.withUnsafeBufferPointer { append($0.baseAddress!) }
    }
}
