/// Reduces a stream's rows to fixed time buckets (min, max and mean per sensor) for live charts:
/// a 1 kHz stream becomes 100 points a second whatever its batch size, and a slow stream keeps
/// every row (one per bucket).
///
/// ``take()`` returns the buckets closed since the last call and the open bucket as it stands;
/// the open bucket comes again, updated, on the next call (same `t`), so a client replaces the
/// point it holds for that time.
struct SignalDecimator: Sendable {
    struct Point: Sendable, Equatable, Encodable {
        /// Start of the bucket, seconds since 1970.
        let t: Double
        /// Rows in the bucket.
        var n: Int
        var min: [Float]
        var max: [Float]
        var mean: [Float]
    }

    let width: Int
    /// Bucket length in seconds.
    let bucket: Double
    private var closed: [Point] = []
    private var openIndex: Double?
    private var openCount = 0
    private var openMin: [Float] = []
    private var openMax: [Float] = []
    private var openSum: [Double] = []
    private var openChanged = false

    init(width: Int, bucket: Double = 0.01) {
        precondition(width > 0 && bucket > 0)
        self.width = width
        self.bucket = bucket
    }

    /// Adds one row (`values.count == width`; rows arrive in time order).
    mutating func add(time: Double, values: [Float]) {
        precondition(values.count == width)
        // A hair of tolerance: a row stamped on a boundary (1 kHz on a 10 ms grid) lands in the
        // bucket it starts, not in the one before by a rounding error.
        let index = (time / bucket + 1e-4).rounded(.down)
        if let open = openIndex, open != index {
            closed.append(openPoint(open))
            openIndex = nil
        }
        if openIndex == nil {
            openIndex = index
            openCount = 0
            openMin = values
            openMax = values
            openSum = [Double](repeating: 0, count: width)
        }
        openCount += 1
        for j in 0..<width {
            let v = values[j]
            if v < openMin[j] { openMin[j] = v }
            if v > openMax[j] { openMax[j] = v }
            openSum[j] += Double(v)
        }
        openChanged = true
    }

    /// Whether ``take()`` has anything new.
    var hasNews: Bool { !closed.isEmpty || openChanged }

    /// The buckets closed since the last call, then the open one if it changed.
    mutating func take() -> [Point] {
        var out = closed
        closed = []
        if openChanged, let open = openIndex {
            out.append(openPoint(open))
            openChanged = false
        }
        return out
    }

    private func openPoint(_ index: Double) -> Point {
        Point(t: index * bucket, n: openCount, min: openMin, max: openMax,
              mean: openSum.map { Float($0 / Double(openCount)) })
    }
}
