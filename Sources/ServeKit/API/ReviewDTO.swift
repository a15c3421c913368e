import Foundation
import Hummingbird
import Inference

struct StreamSummary: ResponseEncodable {
    struct Sensor: Encodable {
        let name: String
        let unit: String?
        let state: String
        let since: String?
    }
    let id: String
    let device_name: String
    let cycle_state: String
    let cycle_number: Int
    let current_cycle_id: String?
    let last_sample_at: String?
    let scored: Bool
    let scoring: String
    let sensors: [Sensor]
    let open_events: Int
    let last_cycle_health: Double?
    /// The model that scores the stream (assigned to it, else the global one).
    let model_id: String?
    /// Whether that model was activated for this stream alone (roll back returns it to the one before).
    let model_assigned: Bool
}

struct SignalHistory: ResponseEncodable {
    let stream_id: String
    let sensors: [String]
    let bucket: Double
    let points: [SignalDecimator.Point]
}

struct AlignedCycle: ResponseEncodable {
    let cycle_id: String
    let model_id: String
    let alignment: CycleAlignment
}

struct StreamList: ResponseEncodable { let streams: [StreamSummary] }

struct CycleSummary: ResponseEncodable {
    let id: String
    let stream_id: String
    let number: Int
    let state: String
    let started_at: String
    let ended_at: String?
    let rows: Int
    let health_score: Double?
    let anomalous: Bool?
    let severity: String?
    let label: String?
    let metadata: [String: String]

    init(_ c: CycleRecord) {
        id = c.id
        stream_id = c.streamID
        number = c.number
        state = c.state.rawValue
        started_at = Timestamp.format(c.startedAt)
        ended_at = c.endedAt.map(Timestamp.format)
        rows = c.rows
        health_score = c.healthScore
        anomalous = c.anomalous
        severity = c.severity?.rawValue
        label = c.label?.rawValue
        metadata = c.metadata
    }
}

struct CycleList: ResponseEncodable { let cycles: [CycleSummary] }

struct CycleDetail: ResponseEncodable {
    let cycle: CycleSummary
    let report: CycleReport?
}

struct ScoreSeries: ResponseEncodable {
    struct Point: Encodable {
        let time: String
        let score: Float
        let sensor_scores: [Float]
    }
    let stream_id: String
    let sensors: [String]
    /// How many stored windows each point stands for (the maximum of each bucket is kept).
    let bucket: Int
    let points: [Point]
}

/// An event as the review API shows it: every field of the event, and its notes oldest first
/// (`notes: [{author, note, at}]`).
struct EventView: ResponseEncodable {
    struct Note: Encodable {
        let author: String
        let note: String
        let at: String
    }
    let event: MaintenanceEvent
    let notes: [Note]

    init(_ e: MaintenanceEvent, notes: [EventNote]) {
        event = e
        self.notes = notes.map { Note(author: $0.author, note: $0.note, at: Timestamp.format($0.at)) }
    }

    private enum Keys: String, CodingKey { case notes }

    func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(notes, forKey: .notes)
    }
}

struct EventList: ResponseEncodable { let events: [EventView] }
extension MaintenanceEvent: ResponseEncodable {}

struct LabelRequest: Decodable { let label: String }
struct MaintenanceRequest: Decodable { let active: Bool }
struct AcknowledgeRequest: Decodable { let by: String?; let note: String? }
struct ResolveRequest: Decodable { let by: String?; let resolution: String; let note: String? }
struct NoteRequest: Decodable { let by: String?; let note: String }

struct ModelList: ResponseEncodable { let models: [ModelView] }

struct TransitionView: Encodable {
    let sensor: String
    let from: String
    let to: String
    let time: String
    let reason: String
    let evidence: SensorEvidence?

    init(_ t: TransitionRecord) {
        sensor = t.sensor
        from = t.from.rawValue
        to = t.to.rawValue
        time = Timestamp.format(t.time)
        reason = t.reason
        evidence = t.evidenceJSON.flatMap { try? JSONDecoder().decode(SensorEvidence.self, from: Data($0.utf8)) }
    }
}

/// Newest first.
struct TransitionList: ResponseEncodable { let transitions: [TransitionView] }
