import Foundation
import Inference

// The record decoders, one per table, shared by both SQL stores: a column is read by its name
// and converted (enums included) by the row, so that a bad value is a thrown ``StoreError``.

extension StreamRecord {
    init(row r: some StoredRow) throws {
        self.init(id: try r.string("id"), deviceName: try r.string("device_name"), datasetID: try r.string("dataset_id"),
                  registeredAt: try r.double("registered_at"), sensors: try r.json("sensors"),
                  cycleState: try r.value("cycle_state"), cycleNumber: try r.int("cycle_number"),
                  stateSince: try r.double("state_since"), lastActivity: try r.double("last_activity"),
                  currentCycleID: try r.optionalString("current_cycle_id"), lastTimestamp: try r.optionalDouble("last_timestamp"),
                  filledValues: try r.int("filled_values"))
    }
}

extension CycleRecord {
    init(row r: some StoredRow) throws {
        self.init(id: try r.string("id"), streamID: try r.string("stream_id"), number: try r.int("number"),
                  state: try r.value("state"), startedAt: try r.double("started_at"), endedAt: try r.optionalDouble("ended_at"),
                  metadata: try r.json("metadata"), rows: try r.int("rows"), healthScore: try r.optionalDouble("health_score"),
                  anomalous: try r.optionalBool("anomalous"), severity: try r.optionalValue("severity"),
                  reportJSON: try r.optionalString("report"), label: try r.optionalValue("label"))
    }
}

extension BatchAck {
    init(row r: some StoredRow) throws {
        self.init(ackID: try r.string("ack_id"), samples: try r.int("samples"), rows: try r.int("rows"))
    }
}

extension ScoreRecord {
    init(row r: some StoredRow) throws {
        self.init(streamID: try r.string("stream_id"), cycleID: try r.optionalString("cycle_id"), time: try r.double("t"),
                  score: Float(try r.double("score")), sensorScores: try r.floats("sensor_scores"))
    }
}

extension SensorStateRecord {
    init(row r: some StoredRow) throws {
        self.init(streamID: try r.string("stream_id"), sensor: try r.string("sensor"), state: try r.value("state"),
                  since: try r.double("since"), above: try r.int("above"), below: try r.int("below"),
                  warningWindows: try r.int("warning_windows"))
    }
}

extension TransitionRecord {
    init(row r: some StoredRow) throws {
        self.init(streamID: try r.string("stream_id"), sensor: try r.string("sensor"), from: try r.value("from_state"),
                  to: try r.value("to_state"), time: try r.double("t"), reason: try r.string("reason"),
                  evidenceJSON: try r.optionalString("evidence"))
    }
}

extension EventNote {
    init(row r: some StoredRow) throws {
        self.init(eventID: try r.string("event_id"), author: try r.string("author"), note: try r.string("note"),
                  at: try r.double("written_at"))
    }
}

extension TokenRecord {
    /// A `tokens` row: the body, with use and revocation from their columns.
    init(row: some StoredRow) throws {
        self = try row.json("body")
        lastUsedAt = try row.optionalDouble("last_used_at")
        revokedAt = try row.optionalDouble("revoked_at")
    }
}
