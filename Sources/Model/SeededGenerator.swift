/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator, so that a model
/// trained with the same seed on the same data is the same model.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float drawn uniformly from `[low, high)` using the top 24 bits.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        let u = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return low + (high - low) * u
    }
}
