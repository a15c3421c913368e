import Foundation
import Inference

/// A value bound to a statement parameter; each store converts it to its own binding (GRDB
/// values, libpq text).
enum SQLValue: Sendable, Equatable {
    case text(String?)
    case double(Double?)
    case int(Int?)
    case bool(Bool?)
    /// A vector of 4-byte floats (``SQLDialect/floats``).
    case floats([Float])
}

/// A statement with `?` placeholders and the values bound to them, in order.
struct SQLStatement: Sendable {
    var sql: String
    var values: [SQLValue]

    /// The SQL with `$1, $2, …` for PostgreSQL. The shared statements have no `?` inside literals.
    var numbered: String {
        var out = "", n = 0
        for ch in sql {
            if ch == "?" { n += 1; out += "$\(n)" } else { out.append(ch) }
        }
        return out
    }
}

/// The writes whose SQL is the same in both dialects, written once: upserts use
/// `ON CONFLICT … DO UPDATE`, which SQLite and PostgreSQL both speak.
enum StoreStatements {
    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }

    /// A stream, created or updated; an update keeps its registration (dataset and time).
    static func upsert(_ s: StreamRecord) throws -> SQLStatement {
        SQLStatement(sql: """
            INSERT INTO streams (id, device_name, dataset_id, registered_at, sensors, cycle_state, cycle_number, state_since,
                                 last_activity, current_cycle_id, last_timestamp, filled_values)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET device_name = EXCLUDED.device_name, sensors = EXCLUDED.sensors,
                cycle_state = EXCLUDED.cycle_state, cycle_number = EXCLUDED.cycle_number, state_since = EXCLUDED.state_since,
                last_activity = EXCLUDED.last_activity, current_cycle_id = EXCLUDED.current_cycle_id,
                last_timestamp = EXCLUDED.last_timestamp, filled_values = EXCLUDED.filled_values
            """, values: [.text(s.id), .text(s.deviceName), .text(s.datasetID), .double(s.registeredAt), .text(try json(s.sensors)),
                          .text(s.cycleState.rawValue), .int(s.cycleNumber), .double(s.stateSince), .double(s.lastActivity),
                          .text(s.currentCycleID), .double(s.lastTimestamp), .int(s.filledValues)])
    }

    /// What a committed batch moves on in its stream: last row, values carried forward, last
    /// activity (each batch wrote the whole record before, its sensors encoded as JSON every time).
    ///
    /// - Parameter fence: in a cluster, the owner's fence: the update (and so the batch) finds no
    ///   row unless the stream's lease still carries it. Checked here, in the statement every batch
    ///   runs anyway, rather than by a query and a lock of its own (`docs/scale-out.md`).
    static func progress(_ s: StreamRecord, fence: Int64? = nil) -> SQLStatement {
        var statement = SQLStatement(sql: "UPDATE streams SET last_activity = ?, last_timestamp = ?, filled_values = ? WHERE id = ?",
                                     values: [.double(s.lastActivity), .double(s.lastTimestamp), .int(s.filledValues), .text(s.id)])
        if let fence {
            // FOR SHARE: when the lease changed after this statement's snapshot, the lock finds the
            // newer row and the fence check fails on it (a plain subquery would see the old one).
            statement.sql += " AND EXISTS (SELECT 1 FROM stream_leases WHERE stream_id = ? AND fence = ? FOR SHARE)"
            statement.values += [.text(s.id), .int(Int(fence))]
        }
        return statement
    }

    /// A cycle, created or updated; an update keeps its stream, number and start.
    static func upsert(_ c: CycleRecord) throws -> SQLStatement {
        SQLStatement(sql: """
            INSERT INTO cycles (id, stream_id, number, state, started_at, ended_at, metadata, rows, health_score, anomalous, severity,
                                report, label)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, ended_at = EXCLUDED.ended_at, rows = EXCLUDED.rows,
                health_score = EXCLUDED.health_score, anomalous = EXCLUDED.anomalous, severity = EXCLUDED.severity,
                report = EXCLUDED.report, label = EXCLUDED.label, metadata = EXCLUDED.metadata
            """, values: [.text(c.id), .text(c.streamID), .int(c.number), .text(c.state.rawValue), .double(c.startedAt), .double(c.endedAt),
                          .text(try json(c.metadata)), .int(c.rows), .double(c.healthScore), .bool(c.anomalous),
                          .text(c.severity?.rawValue), .text(c.reportJSON), .text(c.label?.rawValue)])
    }

    /// The acknowledgement kept for a retried batch id.
    /// - Parameter lastTime: the time of the batch's last row (retention deletes old acknowledgements by it).
    static func insertBatch(stream: String, batchID: String, ack: BatchAck, lastTime: Double?) -> SQLStatement {
        SQLStatement(sql: "INSERT INTO batches (stream_id, batch_id, ack_id, samples, rows, last_t) VALUES (?, ?, ?, ?, ?, ?)",
                     values: [.text(stream), .text(batchID), .text(ack.ackID), .int(ack.samples), .int(ack.rows), .double(lastTime)])
    }

    static func addRows(_ n: Int, cycle: String) -> SQLStatement {
        SQLStatement(sql: "UPDATE cycles SET rows = rows + ? WHERE id = ?", values: [.int(n), .text(cycle)])
    }

    static func upsert(_ s: SensorStateRecord) -> SQLStatement {
        SQLStatement(sql: """
            INSERT INTO sensor_states (stream_id, sensor, state, since, above, below, warning_windows) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (stream_id, sensor) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since, above = EXCLUDED.above,
                below = EXCLUDED.below, warning_windows = EXCLUDED.warning_windows
            """, values: [.text(s.streamID), .text(s.sensor), .text(s.state.rawValue), .double(s.since), .int(s.above), .int(s.below),
                          .int(s.warningWindows)])
    }

    static func insert(_ t: TransitionRecord) -> SQLStatement {
        SQLStatement(sql: "INSERT INTO transitions (stream_id, sensor, from_state, to_state, t, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     values: [.text(t.streamID), .text(t.sensor), .text(t.from.rawValue), .text(t.to.rawValue), .double(t.time),
                              .text(t.reason), .text(t.evidenceJSON)])
    }

    /// An event as a whole (the body is what is read back; the other columns are for filtering).
    static func upsert(_ e: MaintenanceEvent) throws -> SQLStatement {
        SQLStatement(sql: """
            INSERT INTO events (id, stream_id, sensor, status, severity, opened_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, severity = EXCLUDED.severity, updated_at = EXCLUDED.updated_at,
                body = EXCLUDED.body
            """, values: [.text(e.id), .text(e.stream), .text(e.sensor), .text(e.status.rawValue), .text(e.severity.rawValue),
                          .double(e.openedAt), .double(e.updatedAt), .text(try json(e))])
    }

    static func insert(_ n: EventNote) -> SQLStatement {
        SQLStatement(sql: "INSERT INTO event_notes (event_id, author, note, written_at) VALUES (?, ?, ?, ?)",
                     values: [.text(n.eventID), .text(n.author), .text(n.note), .double(n.at)])
    }

    static func upsert(_ m: ModelRecord) throws -> SQLStatement {
        SQLStatement(sql: """
            INSERT INTO models (id, loaded_at, active, body) VALUES (?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET loaded_at = EXCLUDED.loaded_at, active = EXCLUDED.active, body = EXCLUDED.body
            """, values: [.text(m.id), .double(m.loadedAt), .bool(m.active), .text(try json(m))])
    }

    /// A model that is no longer the active one, in its column and its stored body.
    static func deactivate(_ m: ModelRecord) throws -> SQLStatement {
        var inactive = m
        inactive.active = false
        return SQLStatement(sql: "UPDATE models SET active = ?, body = ? WHERE id = ?",
                            values: [.bool(false), .text(try json(inactive)), .text(m.id)])
    }

    static func assign(stream: String, history: [String]) throws -> SQLStatement {
        SQLStatement(sql: "INSERT INTO model_assignments (stream_id, history) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET history = EXCLUDED.history",
                     values: [.text(stream), .text(try json(history))])
    }
}
