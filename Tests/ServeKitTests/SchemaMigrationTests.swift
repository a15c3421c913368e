import Foundation
import GRDB
import Inference
import Testing
@testable import ServeKit

/// The schema declared once must create what the two hand-written lists created, so that
/// databases made by earlier servers migrate unchanged.
@Suite struct SchemaMigrationTests {
    static let ids = ["001_streams_cycles_samples", "002_scores_states_events", "003_models", "004_tokens", "005_model_files", "006_event_notes",
                      "007_sample_chunks", "008_cluster", "009_token_use", "010_retention"]
    /// Rows as servers before 007 stored them (one row per sample row), and what they read back as.
    static let oldRows = [SampleRow(time: 1, values: [1.5, -2], cycleID: "c1"), SampleRow(time: 2, values: [3, 4], cycleID: "c1"),
                          SampleRow(time: 3, values: [5, 6], cycleID: nil)]

    /// An event acknowledged with a note, as servers before 006 stored it (the note in the body only).
    static func notedEvent() throws -> (event: MaintenanceEvent, body: String) {
        var e = MaintenanceEvent(id: "evt-1", stream: "s1", sensor: "a", severity: .high, openedAt: 5, updatedAt: 5, reason: "r",
                                 evidence: nil, topSensors: [], estimatedCost: nil)
        try e.acknowledge(by: "ana", at: 7, note: "checking the valve")
        return (e, String(decoding: try JSONEncoder().encode(e), as: UTF8.self))
    }

    /// Every table and index as SQLite keeps its statement, whitespace collapsed.
    static func sqliteSchema(_ db: some DatabaseReader) throws -> [String] {
        try db.read { db in
            try String.fetchAll(db, sql: """
                SELECT type || ' ' || name || ': ' || sql FROM sqlite_master
                WHERE sql IS NOT NULL AND name NOT LIKE 'grdb%' ORDER BY type, name
                """)
        }.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
    }

    @Test func anSQLiteDatabaseOfTheOldListsOpensWithTheSameSchema() throws {
        let (old, new) = (DataDir(), DataDir())
        defer { for d in [old, new] { try? FileManager.default.removeItem(atPath: d.path + ".sqlite") } }
        do { _ = try LegacySchema.sqliteDatabase(at: old.path + ".sqlite", through: "006_event_notes") }
        let reopened = try SQLiteStore(path: old.path + ".sqlite")
        #expect(try reopened.appliedMigrations() == Self.ids)
        let fresh = try SQLiteStore(path: new.path + ".sqlite")
        let schema = try Self.sqliteSchema(fresh.pool)
        #expect(schema.count == 26, "\(schema)")   // 16 tables, sqlite_sequence, 9 indexes
        #expect(schema.contains { $0.hasPrefix("table sample_chunks:") } && !schema.contains { $0.hasPrefix("table samples:") })
        #expect(try Self.sqliteSchema(reopened.pool) == schema)
    }

    /// 006 (declared once now) still moves an event's note into its history on a database the
    /// old list took up to 005.
    @Test func theSharedNotesMigrationMovesOldNotesOnSQLite() async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let (event, body) = try Self.notedEvent()
        do {
            let db = try LegacySchema.sqliteDatabase(at: dir.path + ".sqlite", through: "005_model_files")
            try await db.write { db in
                try db.execute(sql: "INSERT INTO events (id, stream_id, sensor, status, severity, opened_at, updated_at, body) VALUES (?, 's1', 'a', 'ACKNOWLEDGED', 'HIGH', 5, 5, ?)",
                               arguments: [event.id, body])
            }
        }
        let store = try SQLiteStore(path: dir.path + ".sqlite")
        #expect(try store.appliedMigrations() == Self.ids)
        #expect(try await store.event(event.id) == event)
        #expect(try await store.eventNotes(events: [event.id]) == [event.id: [EventNote(eventID: event.id, author: "ana", note: "checking the valve", at: 7)]])
    }

    static func pgSchemaName() -> String { "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    /// Columns (type, nullability, whether defaulted), indexes and key constraints of a schema.
    static func postgresSchema(_ url: String, _ schema: String) throws -> [String] {
        let c = try PGConnection(url: url)
        let columns = try c.query("""
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || (column_default IS NOT NULL)::text AS d
            FROM information_schema.columns WHERE table_schema = $1 AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position
            """, [schema])
        let indexes = try c.query("SELECT replace(indexdef, $1 || '.', '') AS d FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname", [schema])
        let keys = try c.query("""
            SELECT table_name || ' ' || constraint_name || ' ' || constraint_type AS d FROM information_schema.table_constraints
            WHERE table_schema = $1 AND constraint_type <> 'CHECK' ORDER BY 1
            """, [schema])
        return try (columns.rows + indexes.rows + keys.rows).map { try $0.string("d") }
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func aPostgreSQLSchemaOfTheOldListsOpensWithTheSameSchema() async throws {
        let url = try #require(postgresURL)
        let (old, new) = (Self.pgSchemaName(), Self.pgSchemaName())
        _ = try LegacySchema.postgresSchema(url: url, old, through: "006_event_notes")
        let reopened = try await PostgresStore.open(url: url, schema: old)
        #expect(try await reopened.appliedMigrations() == Self.ids)
        _ = try await PostgresStore.open(url: url, schema: new)
        let schema = try Self.postgresSchema(url, new)
        #expect(schema.contains("sample_chunks.vals ARRAY NO false") && schema.contains("sample_chunks.times ARRAY YES false")
                    && schema.contains("transitions.id bigint NO true"), "\(schema)")
        #expect(try Self.postgresSchema(url, old) == schema)
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func theSharedNotesMigrationMovesOldNotesOnPostgreSQL() async throws {
        let url = try #require(postgresURL)
        let schema = Self.pgSchemaName()
        let (event, body) = try Self.notedEvent()
        let c = try LegacySchema.postgresSchema(url: url, schema, through: "005_model_files")
        try c.query("INSERT INTO events (id, stream_id, sensor, status, severity, opened_at, updated_at, body) VALUES ($1, 's1', 'a', 'ACKNOWLEDGED', 'HIGH', 5, 5, $2)",
                    [event.id, body])
        let store = try await PostgresStore.open(url: url, schema: schema)
        #expect(try await store.appliedMigrations() == Self.ids)
        #expect(try await store.event(event.id) == event)
        #expect(try await store.eventNotes(events: [event.id]) == [event.id: [EventNote(eventID: event.id, author: "ana", note: "checking the valve", at: 7)]])
    }

    /// 007 turns every row an older server stored into a chunk of one: read back unchanged.
    @Test func samplesStoredBeforeChunksReadBackOnSQLite() async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        do {
            let db = try LegacySchema.sqliteDatabase(at: dir.path + ".sqlite", through: "006_event_notes")
            try await db.write { db in
                for r in Self.oldRows {
                    try db.execute(sql: "INSERT INTO samples (stream_id, t, cycle_id, vals) VALUES ('s1', ?, ?, ?)",
                                   arguments: [r.time, r.cycleID, SQLiteStore.blob(r.values)])
                }
            }
        }
        let store = try SQLiteStore(path: dir.path + ".sqlite")
        #expect(try await store.samples(cycle: "c1") == Array(Self.oldRows.prefix(2)))
        #expect(try await store.samples(stream: "s1", from: 1.5, to: 3) == Array(Self.oldRows.suffix(2)))
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func samplesStoredBeforeChunksReadBackOnPostgreSQL() async throws {
        let url = try #require(postgresURL)
        let schema = Self.pgSchemaName()
        let c = try LegacySchema.postgresSchema(url: url, schema, through: "006_event_notes")
        for r in Self.oldRows {
            try c.query("INSERT INTO samples (stream_id, t, cycle_id, vals) VALUES ('s1', $1, $2, $3)",
                        ["\(r.time)", r.cycleID, PostgresStore.array(r.values)])
        }
        let store = try await PostgresStore.open(url: url, schema: schema)
        #expect(try await store.samples(cycle: "c1") == Array(Self.oldRows.prefix(2)))
        #expect(try await store.samples(stream: "s1", from: 1.5, to: 3) == Array(Self.oldRows.suffix(2)))
    }
}
