import Foundation
import Metrics
import Prometheus
import Synchronization

/// The server's metrics, recorded through swift-metrics into a Prometheus registry of the
/// server's own (so that several servers in one process — the tests — do not mix) and served as
/// Prometheus text at `GET /metrics`.
struct ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let ingestedRows: Metrics.Counter
    let ingestedValues: Metrics.Counter
    let batchCommit: Metrics.Timer
    let scoringBatchSize: Recorder
    let scoringLatency: Metrics.Timer
    let windowsScored: Metrics.Counter
    let openEvents: Metrics.Gauge
    let webSocketClients: Metrics.Gauge
    let queuedWindows: Metrics.Gauge
    let rejectedBusy: Metrics.Counter
    let scoringFailures: Metrics.Counter
    let connectionsRejected: Metrics.Counter
    /// Cluster notices (``ClusterBus``) sent, received from the other servers, and dropped (too
    /// large, queue full, or the database refused them).
    let clusterNoticesSent: Metrics.Counter
    let clusterNoticesReceived: Metrics.Counter
    let clusterNoticesDropped: Metrics.Counter
    /// From a batch's arrival (its request handler or socket message) to its acknowledgement.
    let batchAck: DurationHistogram
    /// From the arrival of the batch whose row closed a window to the pushed state change that
    /// window caused.
    let stateChange: DurationHistogram
    /// Bounds of the two latency histograms: fine enough to read p50 and p99 off them.
    static let latencyBuckets: [Duration] = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750,
                                             1_000, 2_000, 5_000, 10_000].map { .microseconds(Int64($0 * 1_000)) }
    private let factory: PrometheusMetricsFactory
    /// Each stream's last cycle health (``StreamGauges``).
    let cycleHealth = CycleHealthBook()
    private let requestSeries = RequestSeries()

    init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [.microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                             .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)]
        factory = f
        ingestedRows = Metrics.Counter(label: "vertac_ingested_rows_total", factory: f)
        ingestedValues = Metrics.Counter(label: "vertac_ingested_values_total", factory: f)
        batchCommit = Metrics.Timer(label: "vertac_batch_commit_seconds", factory: f)
        scoringBatchSize = Recorder(label: "vertac_scoring_batch_windows", factory: f)
        scoringLatency = Metrics.Timer(label: "vertac_scoring_batch_seconds", factory: f)
        windowsScored = Metrics.Counter(label: "vertac_windows_scored_total", factory: f)
        openEvents = Metrics.Gauge(label: "vertac_open_events", factory: f)
        webSocketClients = Metrics.Gauge(label: "vertac_websocket_clients", factory: f)
        queuedWindows = Metrics.Gauge(label: "vertac_scoring_queue_windows", factory: f)
        rejectedBusy = Metrics.Counter(label: "vertac_ingest_rejected_busy_total", factory: f)
        scoringFailures = Metrics.Counter(label: "vertac_scoring_commit_failures_total", factory: f)
        connectionsRejected = Metrics.Counter(label: "vertac_connections_rejected_total", factory: f)
        clusterNoticesSent = Metrics.Counter(label: "vertac_cluster_notices_sent_total", factory: f)
        clusterNoticesReceived = Metrics.Counter(label: "vertac_cluster_notices_received_total", factory: f)
        clusterNoticesDropped = Metrics.Counter(label: "vertac_cluster_notices_dropped_total", factory: f)
        batchAck = registry.makeDurationHistogram(name: "vertac_batch_ack_seconds", buckets: Self.latencyBuckets,
                                                  help: "From a batch's arrival to its acknowledgement")
        stateChange = registry.makeDurationHistogram(name: "vertac_state_change_seconds", buckets: Self.latencyBuckets,
                                                     help: "From the arrival of the batch that closed a window to the state change it caused, pushed")
    }

    /// Nanoseconds on the monotonic clock, for arrival times.
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Records `histogram` from `arrival` (``now()``) to now.
    static func since(_ arrival: UInt64, into histogram: DurationHistogram) {
        histogram.recordNanoseconds(Int64(clamping: now() &- arrival))
    }

    /// Sensors per state, as gauges with a `state` label.
    func sensorsInState(_ counts: [String: Int]) {
        for state in ["NORMAL", "WARNING", "CRITICAL", "STALE", "SUPPRESSED"] {
            Metrics.Gauge(label: "vertac_sensors", dimensions: [("state", state)], factory: factory).record(counts[state] ?? 0)
        }
    }

    /// An HTTP request answered: `vertac_http_requests_total{route, method, status}` and
    /// `vertac_http_request_duration_seconds{route, method}`.
    func request(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let (counter, timer) = requestSeries.series(route: route, method: method, status: status, factory: factory)
        counter.increment()
        timer.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// What each family made through swift-metrics measures (swift-metrics has no help text;
    /// ``exposition()`` adds it, so that `promtool check metrics` finds every family described).
    static let help: [String: String] = [
        "vertac_ingested_rows_total": "Rows stored from batches",
        "vertac_ingested_values_total": "Sensor values stored from batches",
        "vertac_batch_commit_seconds": "Time to commit one batch to the store",
        "vertac_scoring_batch_windows": "Windows per forward pass of the scoring service",
        "vertac_scoring_batch_seconds": "Time of one forward pass of the scoring service",
        "vertac_windows_scored_total": "Windows scored",
        "vertac_open_events": "Maintenance events open or acknowledged, all streams",
        "vertac_websocket_clients": "WebSocket clients connected",
        "vertac_scoring_queue_windows": "Windows waiting to be scored",
        "vertac_ingest_rejected_busy_total": "Batches refused with 503 busy (scoring backlog)",
        "vertac_scoring_commit_failures_total": "Scored windows whose results could not be stored",
        "vertac_connections_rejected_total": "Connections refused over the connection limit",
        "vertac_cluster_notices_sent_total": "Cluster notices sent to the other servers",
        "vertac_cluster_notices_received_total": "Cluster notices received from the other servers",
        "vertac_cluster_notices_dropped_total": "Cluster notices dropped (too large, queue full, or refused)",
        "vertac_sensors": "Sensors of all streams by anomaly state",
        "vertac_http_requests_total": "HTTP requests answered, by route pattern, method and status",
        "vertac_http_request_duration_seconds": "Time to answer an HTTP request, by route pattern and method",
        "vertac_retention_removed_total": "Items removed by retention: sample chunks rolled up, aggregates, scores and transitions, events, acknowledgements",
    ]

    /// What a retention pass removed: `vertac_retention_removed_total{what}`.
    func retained(_ p: RetentionPass) {
        for (what, n) in [("sample_chunks", p.chunksRolledUp), ("aggregates", p.aggregates), ("scores", p.scores), ("events", p.events),
                          ("acknowledgements", p.acknowledgements)] {
            Metrics.Counter(label: "vertac_retention_removed_total", dimensions: [("what", what)], factory: factory).increment(by: Int64(n))
        }
    }

    /// The Prometheus text exposition.
    func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        var out = ""
        var previous = Substring()
        for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), !previous.hasPrefix("# HELP "),
               let name = line.dropFirst(7).split(separator: " ").first, let text = Self.help[String(name)] {
                out += "# HELP \(name) \(text)\n"
            }
            out += line + "\n"
            previous = line
        }
        return String(out.dropLast())
    }
}

/// The request series made so far, so that a request looks its series up instead of making them.
final class RequestSeries: Sendable {
    private struct Key: Hashable { let route: String, method: String, status: Int }
    private let made = Mutex<[Key: (Metrics.Counter, Metrics.Timer)]>([:])

    func series(route: String, method: String, status: Int, factory: PrometheusMetricsFactory) -> (Metrics.Counter, Metrics.Timer) {
        let key = Key(route: route, method: method, status: status)
        return made.withLock { made in
            if let s = made[key] { return s }
            let s = (Metrics.Counter(label: "vertac_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                                     factory: factory),
                     Metrics.Timer(label: "vertac_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory))
            made[key] = s
            return s
        }
    }
}
