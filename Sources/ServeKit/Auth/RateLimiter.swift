import Foundation

/// A token bucket per API token: `rate` requests per second on average, bursts up to `burst`.
actor RateLimiter {
    let rate: Double
    let burst: Double
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    private let clock: @Sendable () -> Double

    init(rate: Double, burst: Double, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.rate = rate
        self.burst = burst
        self.clock = clock
    }

    /// Takes one request's worth from `key`'s bucket.
    ///
    /// - Returns: nil when allowed, else the seconds until a request will be.
    func take(_ key: String) -> Double? {
        let now = clock()
        var b = buckets[key] ?? (burst, now)
        b.tokens = min(burst, b.tokens + (now - b.at) * rate)
        b.at = now
        defer { buckets[key] = b }
        if b.tokens >= 1 {
            b.tokens -= 1
            return nil
        }
        return (1 - b.tokens) / rate
    }
}
