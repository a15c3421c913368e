/// A libpq transaction as ``RetentionSQL`` uses it.
private struct PGRetention: RetentionTransaction {
    let c: PGConnection
    var dialect: SQLDialect { .postgres }

    func rows(_ s: SQLStatement) throws -> [any StoredRow] { try c.execute(s).rows }
}

extension PostgresStore {
    /// Runs `body` in one transaction on a pooled connection.
    private func retention<T: Sendable>(_ body: @escaping @Sendable (PGRetention) throws -> T) async throws -> T {
        try await pool.with { c in try c.transaction { try body(PGRetention(c: c)) } }
    }

    func rollUpSamples(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await retention { try RetentionSQL.rollUp($0, stream: stream, before: cutoff, limit: limit) }
    }

    func deleteAggregates(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await retention { try RetentionSQL.delete($0, "sample_seconds", key: "t", column: "t", stream: stream, before: cutoff, limit: limit) }
    }

    func deleteScores(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await retention { try RetentionSQL.deleteScores($0, stream: stream, before: cutoff, limit: limit) }
    }

    func deleteEvents(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await retention { try RetentionSQL.deleteEvents($0, stream: stream, before: cutoff, limit: limit) }
    }

    func deleteBatchAcks(stream: String, before cutoff: Double, limit: Int) async throws -> Int {
        try await retention { try RetentionSQL.deleteBatchAcks($0, stream: stream, before: cutoff, limit: limit) }
    }

    func secondAggregates(stream: String, from: Double, to: Double) async throws -> [SecondAggregate] {
        try await retention { try RetentionSQL.aggregates($0, stream: stream, from: from, to: to) }
    }
}
