/// Per-sensor min–max scaling fitted on training data: `x' = (x − min) / (max − min)`.
///
/// A constant sensor uses `max − min = 1`. Values outside the training range are not clipped:
/// a live value beyond it is exactly what the model should see as unusual.
public struct MinMaxScaler: Sendable, Equatable, Codable {
    /// Per-sensor minimum seen in training.
    public let min: [Float]
    /// Per-sensor maximum seen in training.
    public let max: [Float]

    /// A scaler with known bounds.
    ///
    /// - Throws: ``ShapeError`` when the two arrays differ in length.
    public init(min: [Float], max: [Float]) throws {
        guard min.count == max.count else {
            throw ShapeError(expected: [min.count], found: [max.count], context: "scaler min and max")
        }
        self.min = min
        self.max = max
    }

    /// Fits the bounds on `rows` of `sensors` values each (row-major), ignoring non-finite values.
    public init(fitting values: [Float], sensors: Int) {
        precondition(sensors > 0 && values.count % sensors == 0, "values are not whole rows of \(sensors) sensors")
        var lo = [Float](repeating: .infinity, count: sensors)
        var hi = [Float](repeating: -.infinity, count: sensors)
        for (k, v) in values.enumerated() where v.isFinite {
            let j = k % sensors
            if v < lo[j] { lo[j] = v }
            if v > hi[j] { hi[j] = v }
        }
        for j in 0..<sensors where !lo[j].isFinite { lo[j] = 0; hi[j] = 0 }
        min = lo
        max = hi
    }

    /// Number of sensors.
    public var sensors: Int { min.count }

    /// The divisor per sensor: `max − min`, or 1 for a constant sensor.
    @inline(__always) public func range(_ j: Int) -> Float {
        let r = max[j] - min[j]
        return r > 0 ? r : 1
    }

    /// Scales row-major values of ``sensors`` columns in place.
    public func transform(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { transform($0.baseAddress!, count: $0.count) }
    }

    /// Scales `count` row-major values in place.
    public func transform(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let d = sensors
        let inv = (0..<d).map { 1 / range($0) }
        for k in 0..<count {
            let j = k % d
            p[k] = (p[k] - min[j]) * inv[j]
        }
    }

    /// The raw value of a scaled one for sensor `j`.
    public func inverse(_ scaled: Float, sensor j: Int) -> Float { scaled * range(j) + min[j] }
}
