import Foundation

/// Reads the Prometheus text exposition (`GET /metrics`): counters, gauges and histogram
/// buckets, for load runs that measure what the server saw.
public struct PrometheusText: Sendable {
    /// `name{labels}` → value, for every sample line.
    public let samples: [String: Double]

    public init(_ text: String) {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        samples = out
    }

    /// A counter's or gauge's value (no labels), or nil.
    public func value(_ name: String) -> Double? { samples[name] }

    /// A histogram's cumulative buckets `(upper bound, count)`, in ascending order (+Inf last).
    public func buckets(_ name: String) -> [(le: Double, count: Double)] {
        let prefix = name + "_bucket{le=\""
        return samples.compactMap { key, count -> (Double, Double)? in
            guard key.hasPrefix(prefix), key.hasSuffix("\"}") else { return nil }
            let bound = key.dropFirst(prefix.count).dropLast(2)
            return (bound == "+Inf" ? .infinity : Double(bound) ?? .nan, count)
        }.filter { !$0.0.isNaN }.sorted { $0.0 < $1.0 }
    }

    /// The buckets of `name` in `after` minus those in `before`: what was recorded in between.
    public static func difference(_ name: String, before: PrometheusText, after: PrometheusText) -> [(le: Double, count: Double)] {
        let earlier = Dictionary(before.buckets(name).map { ($0.le, $0.count) }, uniquingKeysWith: { a, _ in a })
        return after.buckets(name).map { ($0.le, $0.count - (earlier[$0.le] ?? 0)) }
    }

    /// The `q` quantile (0…1) of cumulative buckets, interpolated linearly inside the bucket it
    /// falls in (as Prometheus' `histogram_quantile`); nil without observations. Past the last
    /// finite bound it answers that bound.
    public static func quantile(_ q: Double, _ buckets: [(le: Double, count: Double)]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lower = 0.0, below = 0.0
        for b in buckets {
            if b.count >= rank {
                guard b.le.isFinite else { return lower }
                let inBucket = b.count - below
                return inBucket > 0 ? lower + (b.le - lower) * (rank - below) / inBucket : b.le
            }
            (lower, below) = (b.le, b.count)
        }
        return lower
    }
}
