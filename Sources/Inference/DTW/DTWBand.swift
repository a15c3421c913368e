/// The Sakoe–Chiba band of dtaidistance's `window` parameter.
///
/// For series of lengths n (rows, i) and m (columns, j), cell (i, j) is allowed when
/// `−max(0, n−m) − window < j − i < max(0, m−n) + window`. `window = 1` on equal lengths is the
/// diagonal alone (the Euclidean distance); no window is full DTW.
public struct DTWBand: Sendable, Equatable {
    /// Lowest allowed `j − i`.
    public let lower: Int
    /// Highest allowed `j − i`.
    public let upper: Int

    /// The band for lengths `n`, `m` (both ≥ 1) and an optional window (nil or 0: no band).
    public init(n: Int, m: Int, window: Int?) {
        precondition(n > 0 && m > 0, "DTW needs non-empty series")
        let w = (window ?? 0) > 0 ? window! : max(n, m)
        lower = max(-(n - 1), -max(0, n - m) - w + 1)
        upper = min(m - 1, max(0, m - n) + w - 1)
    }

    /// Whether cell (i, j) is inside the band.
    @inline(__always) public func contains(_ i: Int, _ j: Int) -> Bool {
        let d = j - i
        return d >= lower && d <= upper
    }
}
