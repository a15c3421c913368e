import Foundation
import Metrics
import Prometheus

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

    /// The Prometheus text exposition.
    func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
