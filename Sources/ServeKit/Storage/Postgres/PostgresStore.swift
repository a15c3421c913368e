import Foundation
import Inference

/// The production store: PostgreSQL through libpq, blocking calls on NIO's thread pool, a small
/// connection pool, sample rows written with `COPY … FROM STDIN`. Migrations are ordered, named,
/// each applied in one transaction under an advisory lock (several servers may start at once).
final class PostgresStore: Store {
    let pool: PGPool
    /// The schema the tables live in (`public` unless one is given, as the tests do).
    let schema: String
    /// In a cluster, the fences of the streams this server owns: every write of a stream's data
    /// checks its lease first (``PGConnection/checkFences(_:streams:)``). Nil: a server alone.
    let fences: FenceBook?

    /// Connects, creates the schema if needed and applies pending migrations.
    ///
    /// - Parameters:
    ///   - url: a libpq connection string or URL, e.g. `postgresql://user@host/db`.
    ///   - schema: tables go here instead of `public` (letters, digits and `_`).
    ///   - connections: pool size.
    ///   - fences: in a cluster, the fences of the streams this server owns.
    ///   - idleTransactionSeconds: PostgreSQL ends this server's sessions that sit this long in
    ///     an open transaction (`idle_in_transaction_session_timeout`). In a cluster: a server
    ///     stopped in the middle of a transaction (SIGSTOP, a frozen VM) holds the row locks that
    ///     a new owner of its streams waits for; this bounds that wait. Its transactions never
    ///     wait between statements otherwise.
    static func open(url: String, schema: String? = nil, connections: Int = 4, fences: FenceBook? = nil,
                     idleTransactionSeconds: Double? = nil) async throws -> PostgresStore {
        if let schema, schema.isEmpty || !schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            throw PGError(message: "invalid schema name \"\(schema)\"", sqlState: nil)
        }
        let store = PostgresStore(url: url, schema: schema, connections: connections, fences: fences, idleTransactionSeconds: idleTransactionSeconds)
        try await store.migrate()
        return store
    }

    private init(url: String, schema: String?, connections: Int, fences: FenceBook?, idleTransactionSeconds: Double?) {
        self.schema = schema ?? "public"
        self.fences = fences
        pool = PGPool(url: url, size: connections) { c in
            if let schema {
                try c.query("CREATE SCHEMA IF NOT EXISTS \(schema)")
                try c.query("SET search_path TO \(schema)")
            }
            if let idleTransactionSeconds {
                try c.query("SET idle_in_transaction_session_timeout = \(Int((idleTransactionSeconds * 1000).rounded()))")
            }
        }
    }

    private func migrate() async throws {
        try await pool.with { c in
            // One server migrates at a time; the others wait and then find nothing to do.
            try c.query("SELECT pg_advisory_lock(7412001)")
            defer { _ = try? c.query("SELECT pg_advisory_unlock(7412001)") }
            try c.query("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = Set(try c.query("SELECT name FROM schema_migrations").rows.map { try $0.string("name") })
            for migration in Schema.migrations where !applied.contains(migration.id) {
                try c.transaction {
                    // libpq runs one statement per call with parameters; the schema has no `;` in literals.
                    for statement in migration.sql(.postgres).split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        try c.query(String(statement))
                    }
                    try c.query("INSERT INTO schema_migrations (name) VALUES ($1)", [migration.id])
                }
            }
        }
    }

    /// Names of the migrations applied, in order.
    func appliedMigrations() async throws -> [String] {
        try await pool.with { c in try c.query("SELECT name FROM schema_migrations ORDER BY name").rows.map { try $0.string("name") } }
    }

    // MARK: Encoding helpers

    static func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try JSONEncoder().encode(v), as: UTF8.self) }
    static func array<T: FloatingPoint & LosslessStringConvertible>(_ v: [T]) -> String {
        "{" + v.map { "\($0)" }.joined(separator: ",") + "}"
    }

    // MARK: Streams

    func saveStream(_ s: StreamRecord) async throws {
        try await write(try StoreStatements.upsert(s), of: s.id)
    }

    /// One statement writing a stream's data; in a cluster, in a transaction that checks the
    /// owner's fence first.
    private func write(_ statement: SQLStatement, of stream: String) async throws {
        try await pool.with { [fences] c in
            guard fences != nil else { _ = try c.execute(statement); return }
            try c.transaction {
                try c.checkFences(fences, streams: [stream])
                try c.execute(statement)
            }
        }
    }

    static func streams(_ r: PGRows) throws -> [StreamRecord] { try r.rows.map { try StreamRecord(row: $0) } }

    func stream(_ id: String) async throws -> StreamRecord? {
        try await pool.with { try Self.streams(try $0.query("SELECT * FROM streams WHERE id = $1", [id])).first }
    }

    func streams() async throws -> [StreamRecord] {
        try await pool.with { try Self.streams(try $0.query("SELECT * FROM streams ORDER BY registered_at, id")) }
    }

    // MARK: Batches

    func acknowledgement(stream: String, batchID: String) async throws -> BatchAck? {
        try await pool.with { c in
            try c.query("SELECT ack_id, samples, rows FROM batches WHERE stream_id = $1 AND batch_id = $2", [stream, batchID]).rows.first
                .map { try BatchAck(row: $0) }
        }
    }

    func commitBatch(stream: StreamRecord, rows: [SampleRow], batchID: String?, ack: BatchAck) async throws {
        let chunks = try SampleChunk.chunks(of: rows, stream: stream.id)
        var lines = ""
        lines.reserveCapacity(rows.count * (60 + 12 * (rows.first?.values.count ?? 0)))
        for c in chunks {
            lines += "\(stream.id)\t\(c.first)\t\(c.last)\t\(c.cycleID ?? "\\N")\t\(c.count)\t\(Self.array(c.times))\t\(Self.array(c.values))\n"
        }
        var perCycle: [String: Int] = [:]
        for r in rows { if let c = r.cycleID { perCycle[c, default: 0] += 1 } }
        // In a cluster the fence is checked by the progress update, last: it holds the stream's row
        // until the commit, and a new owner waits for that row before it restores the stream.
        let fence = fences?.fence(stream.id)
        if let fences, fence == nil { throw FenceRefused(stream: stream.id, held: nil, current: nil) }
        let progress = StoreStatements.progress(stream, fence: fence)
        try await pool.with { [lines, perCycle, fences] c in
            try c.transaction {
                for chunk in chunks {
                    if let last = try c.query(SampleChunk.overlapQuery { "$\($0)" }, [stream.id, "\(chunk.last)"]).rows.first?.double("t_last"),
                       last >= chunk.first {
                        throw SampleOverlap(stream: stream.id, time: chunk.first)
                    }
                }
                if !lines.isEmpty { try c.copy("COPY sample_chunks (stream_id, t_first, t_last, cycle_id, n, times, vals) FROM STDIN", lines: lines) }
                if let batchID { try c.execute(StoreStatements.insertBatch(stream: stream.id, batchID: batchID, ack: ack, lastTime: rows.map(\.time).max())) }
                for (cycle, n) in perCycle { try c.execute(StoreStatements.addRows(n, cycle: cycle)) }
                guard try c.query(progress.numbered + " RETURNING id", progress.values.map(\.text)).rows.count == 1 else {
                    if fences != nil, try c.query("SELECT id FROM streams WHERE id = $1", [stream.id]).rows.count == 1 {
                        let current = try c.query("SELECT fence FROM stream_leases WHERE stream_id = $1", [stream.id]).rows.first
                        throw FenceRefused(stream: stream.id, held: fence, current: try current.map { Int64(try $0.int("fence")) })
                    }
                    throw UnknownStream(id: stream.id)
                }
            }
        }
    }

    func samples(cycle: String) async throws -> [SampleRow] {
        try await pool.with { c in
            try c.query("SELECT t_first, cycle_id, n, times, vals FROM sample_chunks WHERE cycle_id = $1 ORDER BY t_first", [cycle]).rows
                .flatMap { try SampleChunk.rows($0) }
        }
    }

    func samples(stream: String, from: Double, to: Double) async throws -> [SampleRow] {
        try await pool.with { c in
            try c.query(SampleChunk.rangeQuery { "$\($0)" }, [stream, "\(from)", "\(to)"]).rows
                .flatMap { try SampleChunk.rows($0) }
                .filter { $0.time >= from && $0.time <= to }
        }
    }

    // MARK: Cycles

    func saveCycle(_ cycle: CycleRecord) async throws {
        try await write(try StoreStatements.upsert(cycle), of: cycle.streamID)
    }

    static func cycles(_ r: PGRows) throws -> [CycleRecord] { try r.rows.map { try CycleRecord(row: $0) } }

    func cycle(_ id: String) async throws -> CycleRecord? {
        try await pool.with { try Self.cycles(try $0.query("SELECT * FROM cycles WHERE id = $1", [id])).first }
    }

    func cycles(stream: String) async throws -> [CycleRecord] {
        try await pool.with { try Self.cycles(try $0.query("SELECT * FROM cycles WHERE stream_id = $1 ORDER BY number DESC", [stream])) }
    }
}
