/// A per-stream ring buffer of the active cycle's last T rows: a window is ready every
/// `stride` rows once T rows of the cycle exist, and never spans two cycles.
public struct StreamWindower: Sendable {
    /// Rows per window, T.
    public let window: Int
    /// Rows between consecutive windows.
    public let stride: Int
    /// Values per row, D.
    public let sensors: Int
    /// Rows of the current cycle seen so far.
    public private(set) var rowsInCycle = 0
    private var ring: [Float]
    private var times: [Double]

    public init(window: Int, stride: Int, sensors: Int) {
        precondition(window > 0 && stride > 0 && sensors > 0, "window, stride and sensors must be positive")
        self.window = window
        self.stride = stride
        self.sensors = sensors
        ring = [Float](repeating: 0, count: window * sensors)
        times = [Double](repeating: 0, count: window)
    }

    /// Starts a new cycle: no window will contain rows from before.
    public mutating func reset() { rowsInCycle = 0 }

    /// Adds a row (scaled values) at time `time`.
    ///
    /// - Returns: whether a window ends at this row.
    @discardableResult
    public mutating func append(_ row: UnsafePointer<Float>, time: Double) -> Bool {
        let slot = rowsInCycle % window
        for j in 0..<sensors { ring[slot * sensors + j] = row[j] }
        times[slot] = time
        rowsInCycle += 1
        return rowsInCycle >= window && (rowsInCycle - window) % stride == 0
    }

    /// Array convenience for ``append(_:time:)``.
    @discardableResult
    public mutating func append(_ row: [Float], time: Double) -> Bool {
        precondition(row.count == sensors, "row has \(row.count) values, expected \(sensors)")
        return row.withUnsafeBufferPointer { append($0.baseAddress!, time: time) }
    }

    /// The last T rows, oldest first, `[T, D]`, written to `out`.
    public func copyWindow(into out: UnsafeMutablePointer<Float>) {
        precondition(rowsInCycle >= window, "fewer rows than a window")
        let start = rowsInCycle % window
        for k in 0..<window {
            let slot = (start + k) % window
            for j in 0..<sensors { out[k * sensors + j] = ring[slot * sensors + j] }
        }
    }

    /// The last T rows as an array, oldest first.
    public func currentWindow() -> [Float] {
        var out = [Float](repeating: 0, count: window * sensors)
        out.withUnsafeMutableBufferPointer { copyWindow(into: $0.baseAddress!) }
        return out
    }

    /// Time of the first row of the current window.
    public var windowStartTime: Double { times[rowsInCycle % window] }
}
