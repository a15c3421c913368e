import Foundation

/// `POST /api/live/register` (VerTac v0.2.0).
struct RegisterRequest: Decodable {
    struct Sensor: Decodable {
        let sensor_id: String?
        let name: String
        let type: String?
        let unit: String?
    }
    let device_name: String
    let sensor_count: Int?
    let sensors: [Sensor]
}

struct RegisterResponse: Encodable {
    let stream_id: String
    let dataset_id: String
    let status: String
}

/// A timestamp as the edge sends it: ISO 8601 text or epoch seconds.
enum WireTime: Decodable {
    case text(String)
    case seconds(Double)

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { self = .seconds(d) } else { self = .text(try c.decode(String.self)) }
    }
}

/// `POST /api/live/batch`: VerTac's per-sample objects, or the compact row form
/// `{stream_id, rows: [{timestamp, values: [...]}]}` in registered sensor order; `batch_id`
/// makes retries idempotent.
struct BatchRequest: Decodable {
    struct Sample: Decodable {
        let timestamp: WireTime
        let sensor_id: String?
        let sensor_name: String?
        let value: Double?
        let unit: String?
        let quality: Double?
    }
    struct Row: Decodable {
        let timestamp: WireTime
        let values: [Double?]
    }
    let stream_id: String
    let batch_id: String?
    let samples: [Sample]?
    let rows: [Row]?
}

struct BatchResponse: Encodable {
    let ack_id: String
    let buffer_status: String
    let samples_received: Int
    let rows_stored: Int
    let duplicate: Bool
}

struct CycleStartRequest: Decodable {
    let metadata: [String: String]?
}

struct CycleResponse: Encodable {
    let status: String
    let cycle_id: String?
    let state: String
    let stream_id: String
}

struct StatusResponse: Encodable {
    struct Sensor: Encodable {
        let name: String
        let unit: String?
        let last_value: Float?
    }
    let stream_id: String
    let device_name: String
    let state: String
    let cycle_id: String?
    let cycle_number: Int
    let state_since: String
    let last_sample_at: String?
    let samples_filled_forward: Int
    let sensors: [Sensor]
    let model_loaded: Bool
    let scoring: String
}
