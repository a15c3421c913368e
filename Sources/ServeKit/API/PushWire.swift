import Foundation
import Inference

/// The wire form of every ``Push``: `{type, timestamp, stream_id, data}`.
///
/// Each type has exactly one shape, described by `docs/push.schema.json` (checked in the tests).
/// The review feed (`/api/v1/live`) and the dashboard use these names; VerTac's legacy
/// per-stream socket (`/api/live/ws/stream/{id}`) gets the same messages under VerTac's names
/// (``Push/legacyType``): `state_change` (with `kind` `cycle` or `sensor`) and `analysis_result`.
extension Push {
    /// The message's `type`.
    var type: String {
        switch self {
        case .samples: "samples"
        case .signal: "signal"
        case .cycleState: "cycle_state"
        case .sensorState: "sensor_state"
        case .windowScores: "window_scores"
        case .cycleReport: "cycle_report"
        case .maintenanceEvent: "maintenance_event"
        }
    }

    /// The `type` on VerTac's legacy per-stream socket.
    var legacyType: String {
        switch self {
        case .cycleState, .sensorState: "state_change"
        case .windowScores, .cycleReport: "analysis_result"
        default: type
        }
    }

    /// The JSON text of the whole message, under the review feed's names or VerTac's.
    func json(stream: String, time: Double, legacy: Bool) -> String? {
        let type = legacy ? legacyType : type
        func text<T: Encodable>(_ data: T) -> String? {
            let envelope = PushEnvelope(type: type, timestamp: Timestamp.format(time), stream_id: stream, data: data)
            return (try? JSONEncoder().encode(envelope)).map { String(decoding: $0, as: UTF8.self) }
        }
        switch self {
        case .samples(let sensors, let rows):
            return text(SamplesMessage(sensors: sensors, rows: rows.map { .init(timestamp: Timestamp.format($0.time), values: $0.values) }))
        case .signal(let s):
            return text(SignalMessage(sensors: s.sensors, bucket: s.bucket, cycle_id: s.cycleID, points: s.points))
        case .cycleState(let from, let to, let cycleID, let time, let reason):
            let m = CycleStateMessage(from: from.rawValue, to: to.rawValue, cycle_id: cycleID, time: Timestamp.format(time), reason: reason)
            return legacy ? text(Kinded(kind: "cycle", base: m)) : text(m)
        case .sensorState(let sensor, let from, let to, let time, let reason):
            let m = SensorStateMessage(sensor: sensor, from: from.rawValue, to: to.rawValue, time: Timestamp.format(time), reason: reason)
            return legacy ? text(Kinded(kind: "sensor", base: m)) : text(m)
        case .windowScores(let w):
            return text(WindowScoresMessage(time: Timestamp.format(w.time), score: w.score, windows: w.windows, sensor_scores: w.sensorScores,
                                            model_id: w.modelID))
        case .cycleReport(let r):
            return text(CycleReportMessage(cycle_id: r.cycleID, model_id: r.modelID, sensors: r.sensors, health_score: r.healthScore,
                                           severity: r.severity.rawValue, anomalous: r.anomalous, top_sensors: r.topSensors,
                                           stop_cause: r.stopCause))
        case .maintenanceEvent(let m): return text(m)
        }
    }
}

/// What every push and reply looks like on the wire.
struct PushEnvelope<T: Encodable>: Encodable {
    let type: String
    let timestamp: String
    let stream_id: String
    let data: T
}

/// A message with VerTac's `kind` field added (legacy `state_change`).
struct Kinded<T: Encodable>: Encodable {
    let kind: String
    let base: T
    enum Key: String, CodingKey { case kind }
    func encode(to encoder: Encoder) throws {
        try base.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(kind, forKey: .kind)
    }
}

/// `samples`: the rows of a committed batch.
struct SamplesMessage: Encodable, Sendable {
    struct Row: Encodable, Sendable {
        let timestamp: String
        let values: [Float]
    }
    let sensors: [String]
    let rows: [Row]
}

/// `cycle_state`: a cycle state transition.
struct CycleStateMessage: Encodable, Sendable {
    let from: String
    let to: String
    let cycle_id: String?
    let time: String
    let reason: String
}

/// `sensor_state`: a sensor state transition.
struct SensorStateMessage: Encodable, Sendable {
    let sensor: String
    let from: String
    let to: String
    let time: String
    let reason: String
}

/// `window_scores`: the latest window scored for a stream, each sensor's score as a ratio to
/// its threshold; `windows` is how many windows this push stands for.
struct WindowScoresMessage: Encodable, Sendable {
    let time: String
    let score: Float
    let windows: Int
    let sensor_scores: [String: Float]
    let model_id: String
}

/// `cycle_report`: a finished cycle's report in brief (the whole report is at
/// `GET /api/v1/cycles/{id}`), with the model it was computed with and that model's sensors.
struct CycleReportMessage: Encodable, Sendable {
    let cycle_id: String
    let model_id: String?
    let sensors: [String]
    let health_score: Double
    let severity: String
    let anomalous: Bool
    let top_sensors: [String]
    let stop_cause: String?
}

/// `signal`: a stream's rows reduced to time buckets (see ``SignalDecimator``).
struct SignalMessage: Encodable, Sendable {
    let sensors: [String]
    /// Bucket length, seconds.
    let bucket: Double
    let cycle_id: String?
    let points: [SignalDecimator.Point]
}

/// Replies on the review feed (`/api/v1/live`), outside the stream messages.
enum FeedReply {
    struct Subscribed: Encodable {
        /// How many streams are followed, or `*` for all.
        enum Streams: Encodable {
            case all, count(Int)
            func encode(to encoder: Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .all: try c.encode("*")
                case .count(let n): try c.encode(n)
                }
            }
        }
        let streams: Streams
        let events: Bool
        let samples: Bool
        let signal: Bool
    }

    struct Failure: Encodable {
        let code: String
        let message: String
    }

    static func subscribed(_ s: Subscribed) -> String { encode(type: "subscribed", s) }
    static func error(code: String, message: String) -> String { encode(type: "error", Failure(code: code, message: message)) }

    struct Envelope<T: Encodable>: Encodable {
        let type: String
        let timestamp: String
        let data: T
    }

    private static func encode<T: Encodable>(type: String, _ data: T) -> String {
        let envelope = Envelope(type: type, timestamp: Timestamp.format(Date().timeIntervalSince1970), data: data)
        return (try? JSONEncoder().encode(envelope)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
