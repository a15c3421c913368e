import Inference

/// What the server tells live subscribers about a stream. The services publish these values;
/// the API layer gives each its one wire shape (``PushWire``, `docs/push.schema.json`).
enum Push: Sendable {
    /// The rows of a committed batch.
    case samples(sensors: [String], rows: [SampleRow])
    /// A stream's rows reduced to time buckets for live charts (``SignalDecimator``).
    case signal(SignalUpdate)
    /// A cycle state transition.
    case cycleState(from: CycleState, to: CycleState, cycleID: String?, time: Double, reason: String)
    /// A sensor state transition.
    case sensorState(sensor: String, from: SensorState, to: SensorState, time: Double, reason: String)
    /// The scores of the latest window scored for a stream.
    case windowScores(WindowScores)
    /// A finished cycle's post-cycle report in brief.
    case cycleReport(CycleReportSummary)
    /// A maintenance event opened or escalated.
    case maintenanceEvent(MaintenanceEvent)

    static func cycleState(_ t: CycleTransition, cycleID: String?) -> Push {
        .cycleState(from: t.from, to: t.to, cycleID: cycleID, time: t.time, reason: t.reason)
    }

    static func sensorState(_ t: TransitionRecord) -> Push {
        .sensorState(sensor: t.sensor, from: t.from, to: t.to, time: t.time, reason: t.reason)
    }

    /// Whether it reaches review subscribers that follow events of every stream.
    var isEvent: Bool { if case .maintenanceEvent = self { true } else { false } }

    /// Whether the owner shares it with the other servers of a cluster (``ClusterBus``): state
    /// changes, reports and events, which are few; not rows, signals or window scores.
    var isShared: Bool {
        switch self {
        case .cycleState, .sensorState, .cycleReport, .maintenanceEvent: true
        case .samples, .signal, .windowScores: false
        }
    }

    /// Whether review subscribers that asked for no committed rows skip it.
    var isSamples: Bool { if case .samples = self { true } else { false } }
}

/// A stream's decimated signal since the last one.
struct SignalUpdate: Sendable {
    let sensors: [String]
    /// Bucket length, seconds.
    let bucket: Double
    let cycleID: String?
    let points: [SignalDecimator.Point]
}

/// The latest window scored for a stream; `windows` is how many windows it stands for.
struct WindowScores: Sendable {
    let time: Double
    let score: Float
    let windows: Int
    /// Per model sensor, its score as a ratio to its threshold.
    let sensorScores: [String: Float]
    let modelID: String
}

/// A finished cycle's report in brief, with the model it was computed with and that model's sensors.
struct CycleReportSummary: Sendable {
    let cycleID: String
    let modelID: String?
    let sensors: [String]
    let healthScore: Double
    let severity: CycleReport.Severity
    let anomalous: Bool
    let topSensors: [String]
    let stopCause: String?
}

/// Where the services hand their pushes (the WebSocket hub, ``LiveHub``).
protocol PushSink: Sendable {
    func publish(_ push: Push, stream: String) async
    /// Whether anyone takes a stream's committed rows (when nobody does, ingest builds no
    /// `samples` push and hands no rows over).
    var wantsRows: Bool { get }
    /// A stream's committed rows, for the decimated signal.
    func rows(stream: String, sensors: [String], rows: [SampleRow]) async
}

/// The sink of a service that nobody subscribes to (tools, tests of the services alone).
struct NoSubscribers: PushSink {
    func publish(_ push: Push, stream: String) async {}
    var wantsRows: Bool { false }
    func rows(stream: String, sensors: [String], rows: [SampleRow]) async {}
}
