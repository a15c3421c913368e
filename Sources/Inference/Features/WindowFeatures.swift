/// Per-sensor features of a window, as the vibration service shows them.
public struct WindowFeatures: Sendable, Equatable, Codable {
    /// Root mean square.
    public var rms: Float
    /// Largest absolute value.
    public var peak: Float
    /// peak / rms (0 for an all-zero window).
    public var crestFactor: Float
    /// Pearson kurtosis m4 / m2² (3 for a normal distribution; 0 for a constant window).
    public var kurtosis: Float
    public var min: Float, max: Float, mean: Float

    /// Features of one sensor's values.
    public init(_ x: [Float]) {
        precondition(!x.isEmpty, "features of an empty window")
        let n = Double(x.count)
        var sum = 0.0, sq = 0.0, peak: Float = 0, lo = x[0], hi = x[0]
        for v in x {
            sum += Double(v); sq += Double(v) * Double(v)
            peak = Swift.max(peak, abs(v)); lo = Swift.min(lo, v); hi = Swift.max(hi, v)
        }
        let mean = sum / n
        var m2 = 0.0, m4 = 0.0
        for v in x {
            let d = Double(v) - mean
            m2 += d * d
            m4 += d * d * d * d
        }
        m2 /= n
        m4 /= n
        rms = Float((sq / n).squareRoot())
        self.peak = peak
        crestFactor = rms > 0 ? peak / rms : 0
        kurtosis = m2 > 0 ? Float(m4 / (m2 * m2)) : 0
        (min, max, self.mean) = (lo, hi, Float(mean))
    }

    /// Features of every sensor of a `[T, D]` window.
    public static func perSensor(_ window: [Float], sensors: Int) -> [WindowFeatures] {
        precondition(sensors > 0 && window.count % sensors == 0 && !window.isEmpty, "window is not whole rows")
        let rows = window.count / sensors
        return (0..<sensors).map { j in WindowFeatures((0..<rows).map { window[$0 * sensors + j] }) }
    }
}
