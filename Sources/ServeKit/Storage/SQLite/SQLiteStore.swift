import Foundation
import GRDB
import Inference

/// The embedded store: one SQLite database (WAL) in the data directory, through GRDB.
///
/// Durability: WAL with `synchronous = FULL`, so a committed batch survives `kill -9` and a
/// power cut alike. Migrations are ordered, named and applied in one transaction each at open.
///
/// Checkpoints (copying the WAL back into the database file, with its fsync) run on a connection
/// of their own every ``checkpointInterval``, beside the writer: SQLite's automatic checkpoint
/// ran inside whichever commit filled the WAL, and that batch waited 50–150 ms for it. The WAL is
/// started over once it holds more than 32 MiB, and cut back to 64 MiB when it was longer.
final class SQLiteStore: Store {
    let pool: DatabasePool
    private let checkpointer: DatabaseQueue
    private let checkpoints: Task<Void, Never>
    static let checkpointInterval: Duration = .milliseconds(500)
    /// WAL frames (pages) beyond which a checkpoint starts the WAL over: 32 MiB of 4 KiB pages.
    static let walRestartFrames = 8_192

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    ///
    /// - Parameter walRestartFrames: WAL pages beyond which a checkpoint starts the WAL over.
    init(path: String, walRestartFrames: Int = SQLiteStore.walRestartFrames) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        // The checkpointer never waits (it tries again next round); the pool's connections wait
        // out its brief hold on the write lock instead of failing.
        let immediate = config
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
        checkpointer = try DatabaseQueue(path: path, configuration: immediate)
        // A connection takes the WAL mode on when it first reads the file.
        _ = try checkpointer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        checkpoints = Task.detached { [checkpointer] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.checkpointInterval)
                // PASSIVE copies the WAL into the database without blocking the writer. Once the
                // WAL holds more than `walRestartFrames`, RESTART copies the few frames written
                // meanwhile and starts it over (overwriting the file from its start: appending to
                // a file made every commit's fsync slower), holding the write lock for that short while; it
                // gives up at once while a write is under way, unless the WAL grew past four times
                // the limit (a writer that never pauses): then it waits its turn, and writers wait
                // for it.
                _ = try? await checkpointer.writeWithoutTransaction { db in
                    let frames = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")?["log"] as Int? ?? 0
                    guard frames > walRestartFrames else { return }
                    let busy = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(RESTART)")?["busy"] as Int? ?? 0
                    guard busy != 0, frames > 4 * walRestartFrames else { return }
                    try db.execute(sql: "PRAGMA busy_timeout = 2000")
                    defer { try? db.execute(sql: "PRAGMA busy_timeout = 0") }
                    _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(RESTART)")
                }
            }
        }
    }

    deinit { checkpoints.cancel() }

    /// Copies the whole WAL into the database file now (tests that measure the file).
    func checkpointNow() async throws {
        _ = try await checkpointer.writeWithoutTransaction { try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
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
    func appliedMigrations() throws -> [String] {
        try pool.read { try Self.migrator.appliedMigrations($0) }
    }

    func saveStream(_ s: StreamRecord) async throws {
        let upsert = try StoreStatements.upsert(s)
        try await pool.write { try $0.execute(upsert) }
    }

    static func stream(_ row: Row) throws -> StreamRecord { try StreamRecord(row: SQLiteRow(row: row)) }

    func stream(_ id: String) async throws -> StreamRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM streams WHERE id = ?", arguments: [id]).map(Self.stream)
        }
    }

    func streams() async throws -> [StreamRecord] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM streams ORDER BY registered_at, id").map(Self.stream) }
    }

    func acknowledgement(stream: String, batchID: String) async throws -> BatchAck? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT ack_id, samples, rows FROM batches WHERE stream_id = ? AND batch_id = ?",
                             arguments: [stream, batchID])
                .map { try BatchAck(row: SQLiteRow(row: $0)) }
        }
    }

    func commitBatch(stream: StreamRecord, rows: [SampleRow], batchID: String?, ack: BatchAck) async throws {
        let progress = StoreStatements.progress(stream)
        let chunks = try SampleChunk.chunks(of: rows, stream: stream.id)
        try await pool.write { db in
            let overlap = try db.cachedStatement(sql: SampleChunk.overlapQuery { _ in "?" })
            let insert = try db.cachedStatement(
                sql: "INSERT INTO sample_chunks (stream_id, t_first, t_last, cycle_id, n, times, vals) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for c in chunks {
                if let last = try Double.fetchOne(overlap, arguments: [stream.id, c.last]), last >= c.first {
                    throw SampleOverlap(stream: stream.id, time: c.first)
                }
                try insert.execute(arguments: [stream.id, c.first, c.last, c.cycleID, c.count, Self.blob(c.times), Self.blob(c.values)])
            }
            if let batchID { try db.execute(StoreStatements.insertBatch(stream: stream.id, batchID: batchID, ack: ack, lastTime: rows.map(\.time).max())) }
            var perCycle: [String: Int] = [:]
            for r in rows { if let c = r.cycleID { perCycle[c, default: 0] += 1 } }
            for (c, n) in perCycle { try db.execute(StoreStatements.addRows(n, cycle: c)) }
            try db.execute(progress)
            guard db.changesCount == 1 else { throw UnknownStream(id: stream.id) }
        }
    }

    static func blob<T: BitwiseCopyable>(_ v: [T]) -> Data {
        v.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    func samples(cycle: String) async throws -> [SampleRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT t_first, cycle_id, n, times, vals FROM sample_chunks WHERE cycle_id = ? ORDER BY t_first",
                             arguments: [cycle])
                .flatMap { try SampleChunk.rows(SQLiteRow(row: $0)) }
        }
    }

    func samples(stream: String, from: Double, to: Double) async throws -> [SampleRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: SampleChunk.rangeQuery { "?\($0)" }, arguments: [stream, from, to])
                .flatMap { try SampleChunk.rows(SQLiteRow(row: $0)) }
                .filter { $0.time >= from && $0.time <= to }
        }
    }

    func saveCycle(_ c: CycleRecord) async throws {
        let upsert = try StoreStatements.upsert(c)
        try await pool.write { try $0.execute(upsert) }
    }

    static func cycle(_ row: Row) throws -> CycleRecord { try CycleRecord(row: SQLiteRow(row: row)) }

    func cycle(_ id: String) async throws -> CycleRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM cycles WHERE id = ?", arguments: [id]).map(Self.cycle) }
    }

    func cycles(stream: String) async throws -> [CycleRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cycles WHERE stream_id = ? ORDER BY number DESC", arguments: [stream]).map(Self.cycle)
        }
    }

    func commitScoring(scores: [ScoreRecord], states: [SensorStateRecord], transitions: [TransitionRecord],
                              events: [MaintenanceEvent]) async throws {
        try await pool.write { db in
            let score = try db.makeStatement(sql: "INSERT OR REPLACE INTO window_scores (stream_id, t, cycle_id, score, sensor_scores) VALUES (?, ?, ?, ?, ?)")
            for s in scores { try score.execute(arguments: [s.streamID, s.time, s.cycleID, Double(s.score), Self.blob(s.sensorScores)]) }
            for s in states { try db.execute(StoreStatements.upsert(s)) }
            for t in transitions { try db.execute(StoreStatements.insert(t)) }
            // An event an engineer reviewed meanwhile keeps the review (the pipeline's copy may be older).
            for e in events {
                let stored = try String.fetchOne(db, sql: "SELECT body FROM events WHERE id = ?", arguments: [e.id])
                    .map { try JSONDecoder().decode(MaintenanceEvent.self, from: Data($0.utf8)) }
                try db.execute(try StoreStatements.upsert(stored.map { e.keepingReview(of: $0) } ?? e))
            }
        }
    }

    func scores(stream: String, from: Double, to: Double) async throws -> [ScoreRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM window_scores WHERE stream_id = ? AND t >= ? AND t <= ? ORDER BY t",
                             arguments: [stream, from, to])
                .map { try ScoreRecord(row: SQLiteRow(row: $0)) }
        }
    }

    func sensorStates(stream: String) async throws -> [SensorStateRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sensor_states WHERE stream_id = ? ORDER BY sensor", arguments: [stream])
                .map { try SensorStateRecord(row: SQLiteRow(row: $0)) }
        }
    }

    func transitions(stream: String, limit: Int) async throws -> [TransitionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM transitions WHERE stream_id = ? ORDER BY id DESC LIMIT ?", arguments: [stream, limit])
                .map { try TransitionRecord(row: SQLiteRow(row: $0)) }
        }
    }

    func saveEvent(_ e: MaintenanceEvent, note: EventNote?) async throws {
        let upsert = try StoreStatements.upsert(e)
        try await pool.write { db in
            try db.execute(upsert)
            if let note { try db.execute(StoreStatements.insert(note)) }
        }
    }

    func eventNotes(events ids: [String]) async throws -> [String: [EventNote]] {
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: "SELECT event_id, author, note, written_at FROM event_notes WHERE event_id IN (\(marks)) ORDER BY id",
                                        arguments: StatementArguments(ids))
            return Dictionary(grouping: try rows.map { try EventNote(row: SQLiteRow(row: $0)) }, by: \.eventID)
        }
    }

    func event(_ id: String) async throws -> MaintenanceEvent? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT body FROM events WHERE id = ?", arguments: [id])
                .map { try JSONDecoder().decode(MaintenanceEvent.self, from: Data($0.utf8)) }
        }
    }

    func events(status: EventStatus?, stream: String?) async throws -> [MaintenanceEvent] {
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

    func saveModel(_ m: ModelRecord) async throws {
        let upsert = try StoreStatements.upsert(m)
        try await pool.write { db in
            if m.active {
                for row in try Row.fetchAll(db, sql: "SELECT body FROM models WHERE active = 1 AND id != ?", arguments: [m.id]) {
                    try db.execute(try StoreStatements.deactivate(try SQLiteRow(row: row).json("body")))
                }
            }
            try db.execute(upsert)
        }
    }

    func models() async throws -> [ModelRecord] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM models ORDER BY loaded_at DESC")
                .map { try JSONDecoder().decode(ModelRecord.self, from: Data($0.utf8)) }
        }
    }

    func saveToken(_ t: TokenRecord) async throws {
        let body = String(decoding: try JSONEncoder().encode(t), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO tokens (id, hash, scope, body, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [t.id, t.hash, t.scope.rawValue, body, t.lastUsedAt, t.revokedAt])
        }
    }

    func token(hash: String) async throws -> TokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT body, last_used_at, revoked_at FROM tokens WHERE hash = ?", arguments: [hash])
                .map { try TokenRecord(row: SQLiteRow(row: $0)) }
        }
    }

    func tokens() async throws -> [TokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT body, last_used_at, revoked_at FROM tokens ORDER BY id").map { try TokenRecord(row: SQLiteRow(row: $0)) }
        }
    }

    func revokeToken(id: String, at time: Double) async throws -> TokenRecord? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [time, id])
            return try Row.fetchOne(db, sql: "SELECT body, last_used_at, revoked_at FROM tokens WHERE id = ?", arguments: [id])
                .map { try TokenRecord(row: SQLiteRow(row: $0)) }
        }
    }

    func tokenUsed(id: String, at time: Double) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                           arguments: [time, id, time])
        }
    }

    func saveModelFile(id: String, bytes: Data) async throws {
        try await pool.write { try $0.execute(sql: "INSERT OR REPLACE INTO model_files (id, bytes) VALUES (?, ?)", arguments: [id, bytes]) }
    }

    func modelFile(id: String) async throws -> Data? {
        try await pool.read { try Data.fetchOne($0, sql: "SELECT bytes FROM model_files WHERE id = ?", arguments: [id]) }
    }

    func saveAssignment(stream: String, history: [String]) async throws {
        let upsert = try StoreStatements.assign(stream: stream, history: history)
        try await pool.write { try $0.execute(upsert) }
    }

    func assignments() async throws -> [String: [String]] {
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
