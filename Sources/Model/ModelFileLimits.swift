/// What a model file may declare. Files come from outside (uploads, disks), so every size is
/// checked against these bounds — with overflow-checked arithmetic — before anything is
/// allocated or indexed, and every value a scorer divides by or multiplies with is checked too.
///
/// The bounds are generous for the machines VerTac watches (the shipped pump model has T = 30,
/// D = 10, H = 64 and a 300-row reference) and small enough that a model that passes them can be
/// scored: one window's scoring workspace stays near 120 MB at worst, and a file cannot hold more
/// numbers than the largest upload (64 MiB) carries uncompressed.
public enum ModelFileLimits {
    /// Most steps per window, T.
    public static let maxWindow = 10_000
    /// Most LSTM hidden units, H (with D ≤ 1,000 every such autoencoder fits ``maxValues``).
    public static let maxHidden = 512
    /// Most sensors, D (the server's limit per stream too).
    public static let maxSensors = 1_000
    /// Most `T × (D + H)`: bounds one window's scoring workspace (≈ 28 values per cell).
    public static let maxWindowCells = 1 << 20
    /// Most rows of the reference cycle, L.
    public static let maxReferenceLength = 1_000_000
    /// Most values of the reference cycle, `L × D` (live DTW keeps two rows of this size per stream).
    public static let maxReferenceValues = 1 << 22
    /// Most stretches of the golden-cycle envelope, B.
    public static let maxEnvelopeBins = 4_096
    /// Largest cycle length (rows) in the normal length range.
    public static let maxCycleRows = 1 << 40
    /// Most epochs in the training curves.
    public static let maxEpochs = 1_000_000
    /// Most float values in the whole file: 2²⁴ float32 are 64 MiB, the largest upload.
    public static let maxValues = 1 << 24
    /// Largest magnitude of a network weight or bias. Trained weights are of order 1; far larger
    /// ones only make the LSTM saturate and the scores meaningless.
    public static let maxWeightMagnitude: Float = 1e6
    /// Longest sensor name, UTF-8 bytes.
    public static let maxNameBytes = 256
    /// Longest string attribute (format, loss, created_at, trainer_version, method, data_sha256), UTF-8 bytes.
    public static let maxStringBytes = 4_096

    /// `a × b`, or `nil` when it overflows `Int` or either factor is negative.
    public static func product(_ a: Int, _ b: Int) -> Int? {
        guard a >= 0, b >= 0 else { return nil }
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : p
    }

    /// The number of values of `shape`, or `nil` when a dimension is negative or the product overflows.
    public static func count(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard let p = product(n, d) else { return nil }
            n = p
        }
        return n
    }

    /// Checks an architecture before anything of its size is allocated.
    ///
    /// - Parameter path: the file named in errors.
    /// - Throws: ``ModelFileError`` naming the attribute (or `/sensors`) and the bound.
    public static func checkArchitecture(window: Int, sensors: Int, hidden: Int, path: String) throws {
        func fail(_ name: String, _ reason: String) -> ModelFileError { ModelFileError(.invalid(name, reason: reason), path: path) }
        guard (1...maxWindow).contains(window) else { throw fail("attribute window", "must be 1…\(maxWindow), found \(window)") }
        guard (1...maxHidden).contains(hidden) else { throw fail("attribute hidden_size", "must be 1…\(maxHidden), found \(hidden)") }
        guard (1...maxSensors).contains(sensors) else { throw fail("/sensors", "must hold 1…\(maxSensors) names, found \(sensors)") }
        // Both factors are bounded above, so this cannot overflow.
        let cells = window * (sensors + hidden)
        guard cells <= maxWindowCells else {
            throw fail("attribute window", "window × (sensors + hidden_size) = \(window) × \(sensors + hidden) = \(cells), at most \(maxWindowCells)")
        }
    }
}
