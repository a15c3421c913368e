import Foundation
import Inference

extension ServerSettings {
    /// Every setting of `vertac-serve`, in the order `config print` and the sample file show them.
    /// A key here is a key of the config file, an environment variable (`VERTAC_` + the key in
    /// capitals, dots as underscores) and a `--set key=value` flag.
    static let keys: [Setting] = server + cluster + log + limits + monitoring + events + retention + modelReader

    private static let server: [Setting] = [
        Setting(key: "host", kind: .string(maxLength: 253), defaultValue: .string("127.0.0.1"),
                help: "Address to listen on (0.0.0.0: every interface).") { s, v in s.host = v.text },
        Setting(key: "port", kind: .int(1...65_535), defaultValue: .int(8080), help: "Port to listen on.") { s, v in s.port = v.integer },
        Setting(key: "data_dir", kind: .string(maxLength: 4_096), defaultValue: .string("./vertac-data"),
                help: "Data directory: the embedded SQLite store, admin.token and the server's node id.") { s, v in s.dataDirectory = v.text },
        Setting(key: "model", kind: .string(maxLength: 4_096), defaultValue: nil,
                help: "Model file (.h5) to score with; it becomes the global model.") { s, v in s.modelPath = v.text },
        Setting(key: "database_url", kind: .string(maxLength: 4_096), defaultValue: nil,
                help: "PostgreSQL connection URL (postgresql://…); unset: the embedded SQLite store.", secret: true) { s, v in s.databaseURL = v.text },
        Setting(key: "dashboard_dir", kind: .string(maxLength: 4_096), defaultValue: nil,
                help: "Folder of the dashboard's files; unset: the copy that ships with the server.",
                check: { v in DashboardAssets.locate(v.text) == nil ? "no index.html in \(v.text)" : nil }) { s, v in s.dashboardDirectory = v.text },
    ]

    private static let cluster: [Setting] = [
        Setting(key: "cluster.advertise", kind: .string(maxLength: 512), defaultValue: nil,
                help: "On PostgreSQL: where the other servers reach this one (unset: http://HOST:PORT).",
                check: { v in v.text.hasPrefix("http://") || v.text.hasPrefix("https://") ? nil : "must be an http:// or https:// URL" }) { s, v in
            s.advertiseAddress = v.text
        },
        Setting(key: "cluster.lease_seconds", kind: .double(1...600), defaultValue: .double(5),
                help: "On PostgreSQL: seconds a stream's lease lasts without renewal; a stopped server's streams move after it.") { s, v in
            s.leaseSeconds = v.number
        },
    ]

    private static let log: [Setting] = [
        Setting(key: "log.format", kind: .choice(["text", "json"]), defaultValue: .string("text"),
                help: "Log lines on standard error: text, or one JSON object per line.") { s, v in s.log.format = LogSettings.Format(rawValue: v.text)! },
        Setting(key: "log.level", kind: .choice(LogSettings.levels), defaultValue: .string("info"),
                help: "Least severe level logged.") { s, v in s.log.level = .init(rawValue: v.text)! },
    ]

    private static let limits: [Setting] = [
        Setting(key: "limits.requests_per_second", kind: .double(0.01...1_000_000), defaultValue: .double(500),
                help: "Requests (and socket messages) per second allowed per token.") { s, v in s.rateLimit.rate = v.number },
        Setting(key: "limits.burst", kind: .double(1...10_000_000), defaultValue: .double(1_000),
                help: "Requests per token allowed at once above that rate.") { s, v in s.rateLimit.burst = v.number },
        Setting(key: "limits.max_queued_windows", kind: .int(100...10_000_000), defaultValue: .int(50_000),
                help: "Ingest answers 503 with Retry-After while more windows than this wait to be scored.") { s, v in s.maxQueuedWindows = v.integer },
        Setting(key: "limits.max_connections", kind: .int(16...1_000_000), defaultValue: .int(4_096),
                help: "Connections open at once (lowered to fit the open-file limit); more are answered 503.") { s, v in
            s.connections.maxConnections = v.integer
        },
        Setting(key: "limits.header_timeout_seconds", kind: .double(1...600), defaultValue: .double(10),
                help: "Time from a connection's opening to the end of its first request head.") { s, v in s.connections.headerTimeout = .seconds(v.number) },
        Setting(key: "limits.idle_timeout_seconds", kind: .double(1...86_400), defaultValue: .double(60),
                help: "An HTTP connection with no request for this long is closed.") { s, v in s.connections.idleTimeout = .seconds(v.number) },
        Setting(key: "limits.websocket_ping_seconds", kind: .double(1...3_600), defaultValue: .double(30),
                help: "WebSockets are pinged this often; one that does not answer is closed.") { s, v in s.connections.webSocketPing = .seconds(v.number) },
    ]

    private static let monitoring: [Setting] = [
        Setting(key: "scoring.stride", kind: .int(1...10_000), defaultValue: .int(1),
                help: "Rows between scored windows (1: a window per row).") { s, v in s.monitor.stride = v.integer },
        Setting(key: "cycle.grace_period_seconds", kind: .double(0...86_400), defaultValue: .double(10),
                help: "A stopping cycle ends after this long without a start (it resumes if data comes back).") { s, v in s.monitor.gracePeriod = v.number },
        Setting(key: "cycle.sample_timeout_seconds", kind: .double(1...86_400), defaultValue: .double(30),
                help: "A running cycle with no data for this long is aborted.") { s, v in s.monitor.sampleTimeout = v.number },
        Setting(key: "sensor.stale_after_seconds", kind: .double(1...86_400), defaultValue: .double(30),
                help: "A stream's sensors turn STALE after this long without data.") { s, v in s.monitor.staleAfter = v.number },
        Setting(key: "sensor.k_warn", kind: .int(1...100_000), defaultValue: .int(3),
                help: "Consecutive windows above threshold before NORMAL → WARNING.") { s, v in s.monitor.sensor.kWarn = v.integer },
        Setting(key: "sensor.k_crit", kind: .int(1...100_000), defaultValue: .int(30),
                help: "Windows in WARNING before → CRITICAL.") { s, v in s.monitor.sensor.kCrit = v.integer },
        Setting(key: "sensor.critical_factor", kind: .double(1.01...1_000), defaultValue: .double(3),
                help: "A sensor score above this many thresholds → CRITICAL at once.") { s, v in s.monitor.sensor.criticalFactor = Float(v.number) },
        Setting(key: "sensor.k_recover", kind: .int(1...100_000), defaultValue: .int(5),
                help: "Consecutive windows under threshold before WARNING/CRITICAL → NORMAL.") { s, v in s.monitor.sensor.kRecover = v.integer },
    ]

    private static let events: [Setting] = [
        Setting(key: "events.warning_duration_seconds", kind: .double(1...31_536_000), defaultValue: .double(300),
                help: "A sensor in WARNING this long opens a MEDIUM maintenance event.") { s, v in s.monitor.policy.warningDuration = v.number },
        Setting(key: "events.critical_duration_seconds", kind: .double(1...31_536_000), defaultValue: .double(600),
                help: "A sensor CRITICAL this long escalates its event to CRITICAL.") { s, v in s.monitor.policy.criticalDuration = v.number },
        Setting(key: "events.critical_score", kind: .double(1.01...1_000), defaultValue: .double(6),
                help: "A CRITICAL sensor scoring above this many thresholds escalates its event to CRITICAL.") { s, v in
            s.monitor.policy.criticalScore = Float(v.number)
        },
        Setting(key: "events.top_sensors", kind: .int(1...100), defaultValue: .int(3),
                help: "How many contributing sensors an event lists.") { s, v in s.monitor.policy.topCount = v.integer },
        Setting(key: "events.default_cost", kind: .double(0...1e12), defaultValue: nil,
                help: "Estimated cost of a HIGH event on any sensor not in events.sensor_costs (MEDIUM ×0.5, CRITICAL ×1.5).") { s, v in
            s.monitor.policy.defaultCost = v.number
        },
        Setting(key: "events.sensor_costs", kind: .list(maxCount: 1_000), defaultValue: nil,
                help: "Estimated cost of a HIGH event per sensor, as sensor=cost items (e.g. bearing_temp=1200,flow=300).",
                check: { v in SensorCosts.parse(v.items).error }) { s, v in
            s.monitor.policy.baseCost = SensorCosts.parse(v.items).costs
        },
    ]

    private static let retention: [Setting] = [
        Setting(key: "retention.samples_days", kind: .double(0...36_500), defaultValue: .double(30),
                help: "Days raw samples are kept; older ones become per-second aggregates (0: kept for ever).") { s, v in s.retention.samplesDays = v.number },
        Setting(key: "retention.aggregates_days", kind: .double(0...36_500), defaultValue: .double(365),
                help: "Days the per-second aggregates (min, max, mean per sensor) are kept (0: for ever).") { s, v in
            s.retention.aggregatesDays = v.number
        },
        Setting(key: "retention.scores_days", kind: .double(0...36_500), defaultValue: .double(90),
                help: "Days window scores and sensor transitions are kept (0: for ever).") { s, v in s.retention.scoresDays = v.number },
        Setting(key: "retention.events_days", kind: .double(0...36_500), defaultValue: .double(0),
                help: "Days resolved events and their notes are kept after their last change (0: for ever; open ones always).") { s, v in
            s.retention.eventsDays = v.number
        },
        Setting(key: "retention.interval_seconds", kind: .double(10...86_400), defaultValue: .double(3_600),
                help: "Seconds between retention passes (the first runs at start).") { s, v in s.retention.interval = v.number },
    ]

    private static let modelReader: [Setting] = [
        Setting(key: "model_reader.memory_bytes", kind: .int(64 << 20...64 << 30), defaultValue: .int(1 << 30),
                help: "Address-space limit of the child process that reads an uploaded model file.") { s, v in s.modelReader.memoryBytes = v.integer },
        Setting(key: "model_reader.cpu_seconds", kind: .int(1...3_600), defaultValue: .int(10),
                help: "CPU-time limit of that child process (it is killed after 1.5 times that plus 5 s, at least 15 s).") { s, v in
            s.modelReader.cpuSeconds = v.integer
            s.modelReader.timeout = ModelReaderSettings.timeout(forCPUSeconds: v.integer)
        },
    ]
}

/// `sensor=cost` items of `events.sensor_costs`.
enum SensorCosts {
    static func parse(_ items: [String]) -> (costs: [String: Double], error: String?) {
        var costs: [String: Double] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 128, let cost = Double(parts[1]), cost.isFinite, cost >= 0, cost <= 1e12 else {
                return ([:], "\"\(item)\" is not sensor=cost with a cost from 0 to 1e12")
            }
            costs[parts[0]] = cost
        }
        return (costs, nil)
    }
}

extension SettingValue {
    /// The value as its setting's kind has it (checked by ``Setting/problem(with:)`` first).
    var text: String { if case .string(let v) = self { return v }; return description }
    var integer: Int { if case .int(let v) = self { return v }; return Int(number) }
    var number: Double {
        switch self {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: return .nan
        }
    }
    var items: [String] { if case .list(let v) = self { return v }; return [text] }
}
