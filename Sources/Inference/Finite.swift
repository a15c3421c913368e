/// Keeps scoring arithmetic finite whatever the live values are.
///
/// Ingest accepts every value that is finite in float32, so a value near 3.4e38 can reach a
/// model whose training range is a few units wide: scaled, it overflows to infinity, and an
/// LSTM fed infinity answers NaN — a NaN score is never "above the threshold", and JSON has no
/// number for it. Scaled values are therefore held within ±``scaledLimit`` (a million training
/// ranges away is anomalous enough for any threshold), and scores that still come out
/// non-finite count as the largest float: as anomalous as it gets, never silently normal.
public enum Finite {
    /// The largest magnitude a scaled value keeps, in training ranges.
    public static let scaledLimit: Float = 1e6

    /// `v` held within ±``scaledLimit``; NaN becomes the limit (it is nothing like training data).
    @inline(__always) public static func scaled(_ v: Float) -> Float {
        v.isNaN ? scaledLimit : Swift.min(Swift.max(v, -scaledLimit), scaledLimit)
    }

    /// A score, error or ratio that is finite: NaN and ±∞ become ±`Float.greatestFiniteMagnitude`.
    @inline(__always) public static func score(_ v: Float) -> Float {
        v.isNaN ? .greatestFiniteMagnitude : Swift.min(Swift.max(v, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
    }

    /// The same for doubles.
    @inline(__always) public static func score(_ v: Double) -> Double {
        v.isNaN ? .greatestFiniteMagnitude : Swift.min(Swift.max(v, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
    }
}
