import GRDB

/// A GRDB transaction as ``RetentionSQL`` uses it.
private struct SQLiteRetention: RetentionTransaction {
    let db: Database
    var dialect: SQLDialect { .sqlite }

    func rows(_ s: SQLStatement) throws -> [any StoredRow] {
        try Row.fetchAll(db, sql: s.sql, arguments: StatementArguments(s.values.map(\.sqlite))).map { SQLiteRow(row: $0) }
    }
}

extension SQLiteStore {
    func rollUpSamples(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await pool.write { try RetentionSQL.rollUp(SQLiteRetention(db: $0), stream: stream, before: cutoff, limit: limit) }
    }

    func deleteAggregates(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await pool.write {
            try RetentionSQL.delete(SQLiteRetention(db: $0), "sample_seconds", key: "t", column: "t", stream: stream, before: cutoff, limit: limit)
        }
    }

    func deleteScores(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await pool.write { try RetentionSQL.deleteScores(SQLiteRetention(db: $0), stream: stream, before: cutoff, limit: limit) }
    }

    func deleteEvents(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await pool.write { try RetentionSQL.deleteEvents(SQLiteRetention(db: $0), stream: stream, before: cutoff, limit: limit) }
    }

    func deleteBatchAcks(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await pool.write { try RetentionSQL.deleteBatchAcks(SQLiteRetention(db: $0), stream: stream, before: cutoff, limit: limit) }
    }

    func secondAggregates(stream: String, from: Double, to: Double) async throws -> [SecondAggregate] {
        try await pool.read { try RetentionSQL.aggregates(SQLiteRetention(db: $0), stream: stream, from: from, to: to) }
    }
}
