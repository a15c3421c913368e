import Inference

/// A stream as a client registers it (checked by ``LiveService/register(_:)``).
struct StreamSpec: Sendable {
    var deviceName: String
    /// In the order the stream's rows carry them; names are trimmed of spaces when registered.
    var sensors: [SensorRecord]
    /// How many sensors the client says it lists, if it says (must equal `sensors.count`).
    var declaredCount: Int?
}

/// A registered stream's ids.
struct Registration: Sendable, Equatable {
    let streamID: String
    let datasetID: String
}

/// Readings for one stream, timestamps in epoch seconds, in any order (rows are sorted by time).
struct IngestBatch: Sendable {
    /// One reading of one sensor, named by id or by name (VerTac's sample objects).
    struct Reading: Sendable {
        let time: Double
        let sensorID: String?
        let sensorName: String?
        let value: Float
    }

    /// One row in registered sensor order; nil: not sent (the last value is carried forward).
    struct Row: Sendable {
        let time: Double
        let values: [Float?]
    }

    enum Readings: Sendable {
        case samples([Reading])
        case rows([Row])
    }

    let streamID: String
    /// Makes retries idempotent: a batch id already committed gets its first receipt again.
    let batchID: String?
    let readings: Readings
}

/// What ingest answers once a batch is committed.
struct IngestReceipt: Sendable, Equatable {
    let ackID: String
    /// Values received (sent, not carried forward).
    let samples: Int
    /// Rows stored.
    let rows: Int
    /// A retry of a batch committed before: nothing new was stored.
    let duplicate: Bool
}

/// A stream's cycle after a cycle command.
struct CycleOutcome: Sendable, Equatable {
    let streamID: String
    let cycleID: String?
    let state: CycleState
}

/// A stream as its owner has it now.
struct StreamStatus: Sendable {
    let streamID: String
    let deviceName: String
    let state: CycleState
    let cycleID: String?
    let cycleNumber: Int
    let stateSince: Double
    let lastSampleAt: Double?
    let filledForward: Int
    let sensors: [SensorRecord]
    /// Per sensor, the last value received (nil: none yet).
    let lastValues: [Float?]
    let scored: Bool
    /// Whether the stream is scored, with which model, and if not, why.
    let scoring: String
}
