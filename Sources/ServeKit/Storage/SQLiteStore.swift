import Foundation
import GRDB
import Inference

/// The embedded store: one SQLite database (WAL) in the data directory, through GRDB.
///
/// Durability: WAL with `synchronous = FULL`, so a committed batch survives `kill -9` and a
/// power cut alike. Migrations are ordered, named and applied in one transaction each at open.
public final class SQLiteStore: Store {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    /// The shared ``Schema``, in SQLite's dialect; GRDB records applied ids in `grdb_migrations`.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for migration in Schema.migrations {
            let sql = migration.sql(.sqlite)
            m.registerMigration(migration.id) { db in try db.execute(sql: sql) }
        }
        return m
    }

    /// Names of the migrations applied, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { try Self.migrator.appliedMigrations($0) }
    }

    public func saveStream(_ s: StreamRecord) async throws {
        try await pool.write { try Self.upsert(s, $0) }
    }

    static func upsert(_ s: StreamRecord, _ db: Database) throws {
        let sensors = String(decoding: try JSONEncoder().encode(s.sensors), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO streams (id, device_name, dataset_id, registered_at, sensors, cycle_state, cycle_number, state_since,
                                 last_activity, current_cycle_id, last_timestamp, filled_values)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET device_name = excluded.device_name, sensors = excluded.sensors,
                cycle_state = excluded.cycle_state, cycle_number = excluded.cycle_number, state_since = excluded.state_since,
                last_activity = excluded.last_activity, current_cycle_id = excluded.current_cycle_id,
                last_timestamp = excluded.last_timestamp, filled_values = excluded.filled_values
            """, arguments: [s.id, s.deviceName, s.datasetID, s.registeredAt, sensors, s.cycleState.rawValue, s.cycleNumber, s.stateSince,
                             s.lastActivity, s.currentCycleID, s.lastTimestamp, s.filledValues])
    }

    static func stream(_ row: Row) throws -> StreamRecord { try StreamRecord(row: SQLiteRow(row: row)) }

    public func stream(_ id: String) async throws -> StreamRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM streams WHERE id = ?", arguments: [id]).map(Self.stream)
        }
    }

    public func streams() async throws -> [StreamRecord] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM streams ORDER BY registered_at, id").map(Self.stream) }
    }

    public func acknowledgement(stream: String, batchID: String) async throws -> BatchAck? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT ack_id, samples, rows FROM batches WHERE stream_id = ? AND batch_id = ?",
                             arguments: [stream, batchID])
                .map { try BatchAck(row: SQLiteRow(row: $0)) }
        }
    }

    public func commitBatch(stream: StreamRecord, rows: [SampleRow], batchID: String?, ack: BatchAck) async throws {
        try await pool.write { db in
            let insert = try db.makeStatement(sql: "INSERT INTO samples (stream_id, t, cycle_id, vals) VALUES (?, ?, ?, ?)")
            for r in rows {
                try insert.execute(arguments: [stream.id, r.time, r.cycleID, Self.blob(r.values)])
            }
            if let batchID {
                try db.execute(sql: "INSERT INTO batches (stream_id, batch_id, ack_id, samples, rows) VALUES (?, ?, ?, ?, ?)",
                               arguments: [stream.id, batchID, ack.ackID, ack.samples, ack.rows])
            }
            var perCycle: [String: Int] = [:]
            for r in rows { if let c = r.cycleID { perCycle[c, default: 0] += 1 } }
            for (c, n) in perCycle { try db.execute(sql: "UPDATE cycles SET rows = rows + ? WHERE id = ?", arguments: [n, c]) }
            try Self.upsert(stream, db)
        }
    }

    static func blob(_ v: [Float]) -> Data {
        v.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    public func samples(cycle: String) async throws -> [SampleRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT t, cycle_id, vals FROM samples WHERE cycle_id = ? ORDER BY t", arguments: [cycle])
                .map { try SampleRow(row: SQLiteRow(row: $0)) }
        }
    }

    public func samples(stream: String, from: Double, to: Double) async throws -> [SampleRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT t, cycle_id, vals FROM samples WHERE stream_id = ? AND t >= ? AND t <= ? ORDER BY t",
                             arguments: [stream, from, to])
                .map { try SampleRow(row: SQLiteRow(row: $0)) }
        }
    }

    public func saveCycle(_ c: CycleRecord) async throws {
        let metadata = String(decoding: try JSONEncoder().encode(c.metadata), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO cycles (id, stream_id, number, state, started_at, ended_at, metadata, rows, health_score, anomalous,
                                    severity, report, label)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, ended_at = excluded.ended_at, rows = excluded.rows,
                    health_score = excluded.health_score, anomalous = excluded.anomalous, severity = excluded.severity,
                    report = excluded.report, label = excluded.label, metadata = excluded.metadata
                """, arguments: [c.id, c.streamID, c.number, c.state.rawValue, c.startedAt, c.endedAt, metadata, c.rows, c.healthScore,
                                 c.anomalous, c.severity?.rawValue, c.reportJSON, c.label?.rawValue])
        }
    }

    static func cycle(_ row: Row) throws -> CycleRecord { try CycleRecord(row: SQLiteRow(row: row)) }

    public func cycle(_ id: String) async throws -> CycleRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM cycles WHERE id = ?", arguments: [id]).map(Self.cycle) }
    }

    public func cycles(stream: String) async throws -> [CycleRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cycles WHERE stream_id = ? ORDER BY number DESC", arguments: [stream]).map(Self.cycle)
        }
    }

    public func commitScoring(scores: [ScoreRecord], states: [SensorStateRecord], transitions: [TransitionRecord],
                              events: [MaintenanceEvent]) async throws {
        try await pool.write { db in
            let score = try db.makeStatement(sql: "INSERT OR REPLACE INTO window_scores (stream_id, t, cycle_id, score, sensor_scores) VALUES (?, ?, ?, ?, ?)")
            for s in scores { try score.execute(arguments: [s.streamID, s.time, s.cycleID, Double(s.score), Self.blob(s.sensorScores)]) }
            let state = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO sensor_states (stream_id, sensor, state, since, above, below, warning_windows) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for s in states { try state.execute(arguments: [s.streamID, s.sensor, s.state.rawValue, s.since, s.above, s.below, s.warningWindows]) }
            let tr = try db.makeStatement(sql: "INSERT INTO transitions (stream_id, sensor, from_state, to_state, t, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for t in transitions { try tr.execute(arguments: [t.streamID, t.sensor, t.from.rawValue, t.to.rawValue, t.time, t.reason, t.evidenceJSON]) }
            // An event an engineer reviewed meanwhile keeps the review (the pipeline's copy may be older).
            for e in events {
                let stored = try String.fetchOne(db, sql: "SELECT body FROM events WHERE id = ?", arguments: [e.id])
                    .map { try JSONDecoder().decode(MaintenanceEvent.self, from: Data($0.utf8)) }
                let merged = stored.map { e.keepingReview(of: $0) } ?? e
                try Self.upsert(merged, body: String(decoding: try JSONEncoder().encode(merged), as: UTF8.self), db)
            }
        }
    }

    public func scores(stream: String, from: Double, to: Double) async throws -> [ScoreRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM window_scores WHERE stream_id = ? AND t >= ? AND t <= ? ORDER BY t",
                             arguments: [stream, from, to])
                .map { try ScoreRecord(row: SQLiteRow(row: $0)) }
        }
    }

    public func sensorStates(stream: String) async throws -> [SensorStateRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sensor_states WHERE stream_id = ? ORDER BY sensor", arguments: [stream])
                .map { try SensorStateRecord(row: SQLiteRow(row: $0)) }
        }
    }

    public func transitions(stream: String, limit: Int) async throws -> [TransitionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM transitions WHERE stream_id = ? ORDER BY id DESC LIMIT ?", arguments: [stream, limit])
                .map { try TransitionRecord(row: SQLiteRow(row: $0)) }
        }
    }

    static func upsert(_ e: MaintenanceEvent, body: String, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO events (id, stream_id, sensor, status, severity, opened_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET status = excluded.status, severity = excluded.severity, updated_at = excluded.updated_at,
                body = excluded.body
            """, arguments: [e.id, e.stream, e.sensor, e.status.rawValue, e.severity.rawValue, e.openedAt, e.updatedAt, body])
    }

    public func saveEvent(_ e: MaintenanceEvent, note: EventNote?) async throws {
        let body = String(decoding: try JSONEncoder().encode(e), as: UTF8.self)
        try await pool.write { db in
            try Self.upsert(e, body: body, db)
            if let note {
                try db.execute(sql: "INSERT INTO event_notes (event_id, author, note, written_at) VALUES (?, ?, ?, ?)",
                               arguments: [note.eventID, note.author, note.note, note.at])
            }
        }
    }

    public func eventNotes(events ids: [String]) async throws -> [String: [EventNote]] {
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: "SELECT event_id, author, note, written_at FROM event_notes WHERE event_id IN (\(marks)) ORDER BY id",
                                        arguments: StatementArguments(ids))
            return Dictionary(grouping: try rows.map { try EventNote(row: SQLiteRow(row: $0)) }, by: \.eventID)
        }
    }

    public func event(_ id: String) async throws -> MaintenanceEvent? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT body FROM events WHERE id = ?", arguments: [id])
                .map { try JSONDecoder().decode(MaintenanceEvent.self, from: Data($0.utf8)) }
        }
    }

    public func events(status: EventStatus?, stream: String?) async throws -> [MaintenanceEvent] {
        try await pool.read { db in
            var sql = "SELECT body FROM events WHERE 1 = 1"
            var args: [DatabaseValueConvertible] = []
            if let status { sql += " AND status = ?"; args.append(status.rawValue) }
            if let stream { sql += " AND stream_id = ?"; args.append(stream) }
            sql += " ORDER BY opened_at DESC"
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(args))
                .map { try JSONDecoder().decode(MaintenanceEvent.self, from: Data($0.utf8)) }
        }
    }

    public func saveModel(_ m: ModelRecord) async throws {
        let body = String(decoding: try JSONEncoder().encode(m), as: UTF8.self)
        try await pool.write { db in
            if m.active {
                // Deactivate the others in their stored bodies too.
                for row in try Row.fetchAll(db, sql: "SELECT id, body FROM models WHERE active = 1 AND id != ?", arguments: [m.id]) {
                    var other = try SQLiteRow(row: row).json("body", as: ModelRecord.self)
                    other.active = false
                    try db.execute(sql: "UPDATE models SET active = 0, body = ? WHERE id = ?",
                                   arguments: [String(decoding: try JSONEncoder().encode(other), as: UTF8.self), other.id])
                }
            }
            try db.execute(sql: """
                INSERT INTO models (id, loaded_at, active, body) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET loaded_at = excluded.loaded_at, active = excluded.active, body = excluded.body
                """, arguments: [m.id, m.loadedAt, m.active, body])
        }
    }

    public func models() async throws -> [ModelRecord] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM models ORDER BY loaded_at DESC")
                .map { try JSONDecoder().decode(ModelRecord.self, from: Data($0.utf8)) }
        }
    }

    public func saveToken(_ t: TokenRecord) async throws {
        let body = String(decoding: try JSONEncoder().encode(t), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO tokens (id, hash, scope, body) VALUES (?, ?, ?, ?)", arguments: [t.id, t.hash, t.scope.rawValue, body])
        }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT body FROM tokens WHERE hash = ?", arguments: [hash])
                .map { try JSONDecoder().decode(TokenRecord.self, from: Data($0.utf8)) }
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM tokens ORDER BY id").map { try JSONDecoder().decode(TokenRecord.self, from: Data($0.utf8)) }
        }
    }

    public func saveModelFile(id: String, bytes: Data) async throws {
        try await pool.write { try $0.execute(sql: "INSERT OR REPLACE INTO model_files (id, bytes) VALUES (?, ?)", arguments: [id, bytes]) }
    }

    public func modelFile(id: String) async throws -> Data? {
        try await pool.read { try Data.fetchOne($0, sql: "SELECT bytes FROM model_files WHERE id = ?", arguments: [id]) }
    }

    public func saveAssignment(stream: String, history: [String]) async throws {
        let body = String(decoding: try JSONEncoder().encode(history), as: UTF8.self)
        try await pool.write {
            try $0.execute(sql: "INSERT OR REPLACE INTO model_assignments (stream_id, history) VALUES (?, ?)", arguments: [stream, body])
        }
    }

    public func assignments() async throws -> [String: [String]] {
        try await pool.read { db in
            var out: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT stream_id, history FROM model_assignments") {
                let r = SQLiteRow(row: row)
                out[try r.string("stream_id")] = try r.json("history")
            }
            return out
        }
    }
}
