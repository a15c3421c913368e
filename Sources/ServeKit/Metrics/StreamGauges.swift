import Inference
import Synchronization

/// What `/metrics` shows of one stream this server serves, read from its owner at the scrape.
struct StreamGauges: Sendable {
    let stream: String
    let device: String
    let cycleState: CycleState
    /// Server time of the stream's last data (or registration).
    let lastActivity: Double
    /// Per model sensor: its state and the score of the last window (s_j: 1 is the threshold).
    let sensors: [(name: String, state: SensorState, score: Float?)]
    /// Open events by severity.
    let openEvents: [EventSeverity: Int]

    /// Prometheus text of the streams' gauges, every series of a stream under its `stream`
    /// label; written per scrape, so a stream this server no longer serves has none (in a
    /// cluster each stream appears on its owner only).
    ///
    /// - Parameters:
    ///   - health: the health (0–100) of each stream's last reported cycle, when known.
    ///   - now: the server's clock.
    static func exposition(_ streams: [StreamGauges], health: [String: Double], now: Double) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n" + lines.map { $0 + "\n" }.joined()
        }
        let sorted = streams.sorted { $0.stream < $1.stream }
        family("vertac_stream_info", "A stream this server serves (1), with its device name",
               sorted.map { "vertac_stream_info\(PrometheusLabels.text(["stream": $0.stream, "device": $0.device])) 1" })
        family("vertac_stream_cycle_state", "The stream's cycle state: 1 for the current one",
               sorted.flatMap { g in
                   CycleState.allCases.map { "vertac_stream_cycle_state\(PrometheusLabels.text(["stream": g.stream, "state": $0.rawValue])) \(g.cycleState == $0 ? 1 : 0)" }
               })
        family("vertac_stream_last_sample_age_seconds", "Seconds since the stream's last data reached the server",
               sorted.map { "vertac_stream_last_sample_age_seconds\(PrometheusLabels.text(["stream": $0.stream])) \(PrometheusLabels.number(max(0, now - $0.lastActivity)))" })
        family("vertac_stream_last_cycle_health", "Health score (0-100) of the stream's last reported cycle",
               sorted.compactMap { g in health[g.stream].map { "vertac_stream_last_cycle_health\(PrometheusLabels.text(["stream": g.stream])) \(PrometheusLabels.number($0))" } })
        family("vertac_stream_open_events", "Open maintenance events of the stream, by severity",
               sorted.flatMap { g in
                   EventSeverity.allCases.map { "vertac_stream_open_events\(PrometheusLabels.text(["stream": g.stream, "severity": $0.rawValue])) \(g.openEvents[$0] ?? 0)" }
               })
        family("vertac_sensor_state", "A scored sensor's anomaly state: 1 for the current one",
               sorted.flatMap { g in
                   g.sensors.flatMap { s in
                       SensorState.allCases.map {
                           "vertac_sensor_state\(PrometheusLabels.text(["stream": g.stream, "sensor": s.name, "state": $0.rawValue])) \(s.state == $0 ? 1 : 0)"
                       }
                   }
               })
        family("vertac_sensor_score_ratio", "A sensor's score in the last scored window, in thresholds (above 1: over its threshold)",
               sorted.flatMap { g in
                   g.sensors.compactMap { s in
                       s.score.map { "vertac_sensor_score_ratio\(PrometheusLabels.text(["stream": g.stream, "sensor": s.name])) \(PrometheusLabels.number(Double($0)))" }
                   }
               })
        return out
    }
}

/// The health of each stream's last reported cycle, kept as reports are made (and read from the
/// store once per stream after a start).
final class CycleHealthBook: Sendable {
    private let health = Mutex<[String: Double]>([:])
    private let looked = Mutex<Set<String>>([])

    func forget(_ stream: String) {
        health.withLock { $0[stream] = nil }
        looked.withLock { _ = $0.remove(stream) }
    }

    func record(_ value: Double, stream: String) {
        health.withLock { $0[stream] = value }
        looked.withLock { _ = $0.insert(stream) }
    }

    /// The known values, after asking `lookUp` for streams not looked up yet.
    func values(for streams: [String], lookUp: (String) async throws -> Double?) async -> [String: Double] {
        let missing = looked.withLock { seen in streams.filter { !seen.contains($0) } }
        for s in missing {
            // A lookup that failed is tried again at the next scrape.
            let found: Double?
            do { found = try await lookUp(s) } catch { continue }
            if let v = found { health.withLock { if $0[s] == nil { $0[s] = v } } }
            looked.withLock { _ = $0.insert(s) }
        }
        let all = health.withLock { $0 }
        return all.filter { streams.contains($0.key) }
    }
}

/// Prometheus text format helpers.
enum PrometheusLabels {
    /// `{a="x",b="y"}`, keys sorted, values escaped (backslash, quote, newline).
    static func text(_ labels: [String: String]) -> String {
        func escape(_ v: String) -> String {
            v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        return "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",") + "}"
    }

    /// A sample value: NaN and infinities as Prometheus spells them, else up to 6 decimals.
    static func number(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "+Inf" : "-Inf" }
        return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%.6g", x)
    }
}
