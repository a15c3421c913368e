import Foundation

/// A stream's rows of one second, reduced: how many, and per sensor the least, the greatest and
/// the mean value. What remains of raw samples past their retention (`retention.*` settings).
struct SecondAggregate: Sendable, Equatable {
    /// The second's start (seconds since 1970, a whole number).
    let time: Double
    var count: Int
    var min: [Float]
    var max: [Float]
    var mean: [Float]

    init(time: Double, count: Int, min: [Float], max: [Float], mean: [Float]) {
        (self.time, self.count, self.min, self.max, self.mean) = (time, count, min, max, mean)
    }

    init(time: Double, row values: [Float]) {
        self.init(time: time, count: 1, min: values, max: values, mean: values)
    }

    /// Takes in another part of the same second (a row, or an aggregate stored before).
    mutating func merge(_ o: SecondAggregate) {
        guard o.min.count == min.count else { return }
        let total = Float(count + o.count)
        for j in 0..<min.count {
            min[j] = Swift.min(min[j], o.min[j])
            max[j] = Swift.max(max[j], o.max[j])
            mean[j] = (mean[j] * Float(count) + o.mean[j] * Float(o.count)) / total
        }
        count += o.count
    }

    /// The seconds of `rows`, merged with `stored` aggregates of the same seconds.
    static func seconds(of rows: [SampleRow], stored: [SecondAggregate]) -> [SecondAggregate] {
        var out: [Double: SecondAggregate] = [:]
        for a in stored { out[a.time] = a }
        for r in rows {
            let t = r.time.rounded(.down)
            let part = SecondAggregate(time: t, row: r.values)
            if out[t] == nil { out[t] = part } else { out[t]!.merge(part) }
        }
        return out.values.sorted { $0.time < $1.time }
    }
}

/// Removes what is older than the retention settings, a stream and a small transaction at a time
/// (``RetentionService``), so that ingest never waits long for the store. Every method does at
/// most `limit` items in one transaction and returns how many it did (0: nothing left).
protocol RetentionRepository: Sendable {
    /// Turns a stream's sample chunks that end before `cutoff` into per-second aggregates (merged
    /// with those stored for the same seconds) and deletes them.
    func rollUpSamples(stream: String, before cutoff: Double, limit: Int) async throws -> Int
    /// Deletes a stream's per-second aggregates of seconds before `cutoff`.
    func deleteAggregates(stream: String, before cutoff: Double, limit: Int) async throws -> Int
    /// Deletes a stream's window scores and sensor transitions before `cutoff`.
    func deleteScores(stream: String, before cutoff: Double, limit: Int) async throws -> Int
    /// Deletes a stream's resolved events last changed before `cutoff`, with their notes.
    func deleteEvents(stream: String, before cutoff: Double, limit: Int) async throws -> Int
    /// Deletes the acknowledgements of a stream's batches whose last row is before `cutoff` (a
    /// retry that old is taken as a new batch, and refused if its rows are still stored).
    func deleteBatchAcks(stream: String, before cutoff: Double, limit: Int) async throws -> Int
    /// A stream's per-second aggregates with `from ≤ t ≤ to`, in time order.
    func secondAggregates(stream: String, from: Double, to: Double) async throws -> [SecondAggregate]
}

/// One transaction of an SQL store, as the retention work written once for both needs it.
protocol RetentionTransaction {
    /// The rows a statement returns (a DELETE with `RETURNING`: one per row deleted).
    func rows(_ s: SQLStatement) throws -> [any StoredRow]
    var dialect: SQLDialect { get }
}

/// The retention work in SQL, the same for SQLite and PostgreSQL.
enum RetentionSQL {
    /// The chunks are deleted first and only the rows the delete returned are aggregated: a
    /// second server rolling up the same stream at the same moment (a stream handed over
    /// mid-pass) finds them gone and counts nothing twice.
    static func rollUp(_ tx: some RetentionTransaction, stream: String, before cutoff: Double, limit: Int) throws -> Int {
        // `t_first < cutoff` keeps the search within the (stream_id, t_first) index.
        let chunks = try tx.rows(SQLStatement(sql: """
            DELETE FROM sample_chunks WHERE stream_id = ? AND t_first IN (
                SELECT t_first FROM sample_chunks WHERE stream_id = ? AND t_first < ? AND t_last < ? ORDER BY t_first LIMIT ?)
            RETURNING t_first, cycle_id, n, times, vals
            """, values: [.text(stream), .text(stream), .double(cutoff), .double(cutoff), .int(limit)]))
        guard !chunks.isEmpty else { return 0 }
        var rows: [SampleRow] = []
        for c in chunks { rows += try SampleChunk.rows(c) }
        let lo = rows.map(\.time).min()!.rounded(.down), hi = rows.map(\.time).max()!.rounded(.down)
        let stored = try aggregates(tx, stream: stream, from: lo, to: hi)
        for a in SecondAggregate.seconds(of: rows, stored: stored) {
            _ = try tx.rows(SQLStatement(sql: """
                INSERT INTO sample_seconds (stream_id, t, n, mins, maxs, means) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (stream_id, t) DO UPDATE SET n = EXCLUDED.n, mins = EXCLUDED.mins, maxs = EXCLUDED.maxs, means = EXCLUDED.means
                """, values: [.text(stream), .double(a.time), .int(a.count), .floats(a.min), .floats(a.max), .floats(a.mean)]))
        }
        return chunks.count
    }

    static func aggregates(_ tx: some RetentionTransaction, stream: String, from: Double, to: Double) throws -> [SecondAggregate] {
        try tx.rows(SQLStatement(
            sql: "SELECT t, n, mins, maxs, means FROM sample_seconds WHERE stream_id = ? AND t >= ? AND t <= ? ORDER BY t",
            values: [.text(stream), .double(from), .double(to)])).map { r in
            SecondAggregate(time: try r.double("t"), count: try r.int("n"), min: try r.floats("mins"), max: try r.floats("maxs"),
                            mean: try r.floats("means"))
        }
    }

    /// Deletes up to `limit` rows of `table` of a stream with `column < cutoff` (by the
    /// table's `(stream_id, column)` index), in time order.
    static func delete(_ tx: some RetentionTransaction, _ table: String, key: String, column: String, stream: String,
                       before cutoff: Double, limit: Int) throws -> Int {
        try tx.rows(SQLStatement(sql: """
            DELETE FROM \(table) WHERE stream_id = ? AND \(key) IN (
                SELECT \(key) FROM \(table) WHERE stream_id = ? AND \(column) < ? ORDER BY \(column) LIMIT ?) RETURNING 1 AS one
            """, values: [.text(stream), .text(stream), .double(cutoff), .int(limit)])).count
    }

    static func deleteScores(_ tx: some RetentionTransaction, stream: String, before cutoff: Double, limit: Int) throws -> Int {
        try delete(tx, "window_scores", key: "t", column: "t", stream: stream, before: cutoff, limit: limit)
            + delete(tx, "transitions", key: "id", column: "t", stream: stream, before: cutoff, limit: limit)
    }

    static func deleteEvents(_ tx: some RetentionTransaction, stream: String, before cutoff: Double, limit: Int) throws -> Int {
        let ids = try tx.rows(SQLStatement(
            sql: "SELECT id FROM events WHERE stream_id = ? AND status = ? AND updated_at < ? ORDER BY updated_at LIMIT ?",
            values: [.text(stream), .text("RESOLVED"), .double(cutoff), .int(limit)])).map { try $0.string("id") }
        for id in ids {
            _ = try tx.rows(SQLStatement(sql: "DELETE FROM event_notes WHERE event_id = ? RETURNING 1 AS one", values: [.text(id)]))
            _ = try tx.rows(SQLStatement(sql: "DELETE FROM events WHERE id = ? RETURNING 1 AS one", values: [.text(id)]))
        }
        return ids.count
    }

    static func deleteBatchAcks(_ tx: some RetentionTransaction, stream: String, before cutoff: Double, limit: Int) throws -> Int {
        try delete(tx, "batches", key: "batch_id", column: "last_t", stream: stream, before: cutoff, limit: limit)
    }
}
