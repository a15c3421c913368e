import Foundation
import GRDB
import Testing
@testable import ServeKit

/// The migrations as the two stores declared them before the schema was declared once (copied
/// from main at 2143c32, statement text unchanged, indentation not). A database created by them
/// must open with today's stores and have the same schema as a new one.
enum LegacySchema {
    static let sqlite: [(id: String, sql: String)] = [
        ("001_streams_cycles_samples", """
            CREATE TABLE streams (
            id TEXT PRIMARY KEY, device_name TEXT NOT NULL, dataset_id TEXT NOT NULL, registered_at REAL NOT NULL,
            sensors TEXT NOT NULL, cycle_state TEXT NOT NULL, cycle_number INTEGER NOT NULL, state_since REAL NOT NULL,
            last_activity REAL NOT NULL, current_cycle_id TEXT, last_timestamp REAL, filled_values INTEGER NOT NULL);
            CREATE TABLE cycles (
            id TEXT PRIMARY KEY, stream_id TEXT NOT NULL REFERENCES streams(id), number INTEGER NOT NULL,
            state TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL, metadata TEXT NOT NULL, rows INTEGER NOT NULL,
            health_score REAL, anomalous INTEGER, severity TEXT, report TEXT, label TEXT);
            CREATE INDEX cycles_by_stream ON cycles(stream_id, number);
            CREATE TABLE samples (
            stream_id TEXT NOT NULL, t REAL NOT NULL, cycle_id TEXT, vals BLOB NOT NULL, PRIMARY KEY (stream_id, t)
            ) WITHOUT ROWID;
            CREATE INDEX samples_by_cycle ON samples(cycle_id, t);
            CREATE TABLE batches (
            stream_id TEXT NOT NULL, batch_id TEXT NOT NULL, ack_id TEXT NOT NULL, samples INTEGER NOT NULL,
            rows INTEGER NOT NULL, PRIMARY KEY (stream_id, batch_id)) WITHOUT ROWID;
            """),
        ("002_scores_states_events", """
            CREATE TABLE window_scores (
            stream_id TEXT NOT NULL, t REAL NOT NULL, cycle_id TEXT, score REAL NOT NULL, sensor_scores BLOB NOT NULL,
            PRIMARY KEY (stream_id, t)) WITHOUT ROWID;
            CREATE TABLE sensor_states (
            stream_id TEXT NOT NULL, sensor TEXT NOT NULL, state TEXT NOT NULL, since REAL NOT NULL,
            above INTEGER NOT NULL, below INTEGER NOT NULL, warning_windows INTEGER NOT NULL,
            PRIMARY KEY (stream_id, sensor)) WITHOUT ROWID;
            CREATE TABLE transitions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL, sensor TEXT NOT NULL, from_state TEXT NOT NULL,
            to_state TEXT NOT NULL, t REAL NOT NULL, reason TEXT NOT NULL, evidence TEXT);
            CREATE INDEX transitions_by_stream ON transitions(stream_id, t);
            CREATE TABLE events (
            id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, sensor TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
            opened_at REAL NOT NULL, updated_at REAL NOT NULL, body TEXT NOT NULL);
            CREATE INDEX events_by_status ON events(status, opened_at);
            """),
        ("003_models", """
            CREATE TABLE models (id TEXT PRIMARY KEY, loaded_at REAL NOT NULL, active INTEGER NOT NULL, body TEXT NOT NULL);
            """),
        ("004_tokens", """
            CREATE TABLE tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, body TEXT NOT NULL);
            """),
        ("005_model_files", """
            CREATE TABLE model_files (id TEXT PRIMARY KEY, bytes BLOB NOT NULL);
            CREATE TABLE model_assignments (stream_id TEXT PRIMARY KEY, history TEXT NOT NULL);
            """),
        ("006_event_notes", """
            CREATE TABLE event_notes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, author TEXT NOT NULL, note TEXT NOT NULL, written_at REAL NOT NULL);
            CREATE INDEX event_notes_by_event ON event_notes(event_id, id);
            INSERT INTO event_notes (event_id, author, note, written_at)
            SELECT id, COALESCE(json_extract(body, '$.resolvedBy'), json_extract(body, '$.acknowledgedBy'), 'engineer'),
            json_extract(body, '$.note'),
            COALESCE(json_extract(body, '$.resolvedAt'), json_extract(body, '$.acknowledgedAt'), updated_at)
            FROM events WHERE json_extract(body, '$.note') IS NOT NULL ORDER BY opened_at;
            """),
    ]

    static let postgres: [(id: String, sql: String)] = [
        ("001_streams_cycles_samples", """
            CREATE TABLE streams (
            id TEXT PRIMARY KEY, device_name TEXT NOT NULL, dataset_id TEXT NOT NULL, registered_at DOUBLE PRECISION NOT NULL,
            sensors TEXT NOT NULL, cycle_state TEXT NOT NULL, cycle_number INTEGER NOT NULL, state_since DOUBLE PRECISION NOT NULL,
            last_activity DOUBLE PRECISION NOT NULL, current_cycle_id TEXT, last_timestamp DOUBLE PRECISION,
            filled_values BIGINT NOT NULL);
            CREATE TABLE cycles (
            id TEXT PRIMARY KEY, stream_id TEXT NOT NULL REFERENCES streams(id), number INTEGER NOT NULL, state TEXT NOT NULL,
            started_at DOUBLE PRECISION NOT NULL, ended_at DOUBLE PRECISION, metadata TEXT NOT NULL, rows BIGINT NOT NULL,
            health_score DOUBLE PRECISION, anomalous BOOLEAN, severity TEXT, report TEXT, label TEXT);
            CREATE INDEX cycles_by_stream ON cycles(stream_id, number);
            CREATE TABLE samples (
            stream_id TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, cycle_id TEXT, vals REAL[] NOT NULL, PRIMARY KEY (stream_id, t));
            CREATE INDEX samples_by_cycle ON samples(cycle_id, t);
            CREATE TABLE batches (
            stream_id TEXT NOT NULL, batch_id TEXT NOT NULL, ack_id TEXT NOT NULL, samples INTEGER NOT NULL, rows INTEGER NOT NULL,
            PRIMARY KEY (stream_id, batch_id));
            """),
        ("002_scores_states_events", """
            CREATE TABLE window_scores (
            stream_id TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, cycle_id TEXT, score REAL NOT NULL, sensor_scores REAL[] NOT NULL,
            PRIMARY KEY (stream_id, t));
            CREATE TABLE sensor_states (
            stream_id TEXT NOT NULL, sensor TEXT NOT NULL, state TEXT NOT NULL, since DOUBLE PRECISION NOT NULL,
            above INTEGER NOT NULL, below INTEGER NOT NULL, warning_windows INTEGER NOT NULL, PRIMARY KEY (stream_id, sensor));
            CREATE TABLE transitions (
            id BIGSERIAL PRIMARY KEY, stream_id TEXT NOT NULL, sensor TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
            t DOUBLE PRECISION NOT NULL, reason TEXT NOT NULL, evidence TEXT);
            CREATE INDEX transitions_by_stream ON transitions(stream_id, t);
            CREATE TABLE events (
            id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, sensor TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
            opened_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL);
            CREATE INDEX events_by_status ON events(status, opened_at);
            """),
        ("003_models", """
            CREATE TABLE models (id TEXT PRIMARY KEY, loaded_at DOUBLE PRECISION NOT NULL, active BOOLEAN NOT NULL, body TEXT NOT NULL);
            """),
        ("004_tokens", """
            CREATE TABLE tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, body TEXT NOT NULL);
            """),
        ("005_model_files", """
            CREATE TABLE model_files (id TEXT PRIMARY KEY, bytes BYTEA NOT NULL);
            CREATE TABLE model_assignments (stream_id TEXT PRIMARY KEY, history TEXT NOT NULL);
            """),
        ("006_event_notes", """
            CREATE TABLE event_notes (
            id BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL, author TEXT NOT NULL, note TEXT NOT NULL, written_at DOUBLE PRECISION NOT NULL);
            CREATE INDEX event_notes_by_event ON event_notes(event_id, id);
            INSERT INTO event_notes (event_id, author, note, written_at)
            SELECT id, COALESCE(body::json->>'resolvedBy', body::json->>'acknowledgedBy', 'engineer'), body::json->>'note',
            COALESCE((body::json->>'resolvedAt')::double precision, (body::json->>'acknowledgedAt')::double precision, updated_at)
            FROM events WHERE body::json->>'note' IS NOT NULL ORDER BY opened_at;
            """),
    ]

    /// A SQLite database migrated with the old list, up to and including `last`, as the old
    /// `SQLiteStore` did (GRDB's migrator, same ids).
    static func sqliteDatabase(at path: String, through last: String) throws -> DatabaseQueue {
        let db = try DatabaseQueue(path: path)
        var m = DatabaseMigrator()
        for (id, sql) in sqlite { m.registerMigration(id) { try $0.execute(sql: sql) } }
        try m.migrate(db, upTo: last)
        return db
    }

    /// A PostgreSQL schema migrated with the old list, up to and including `last`, as the old
    /// `PostgresStore` did (`schema_migrations`, one statement at a time).
    static func postgresSchema(url: String, _ schema: String, through last: String) throws -> PGConnection {
        let c = try PGConnection(url: url)
        try c.query("CREATE SCHEMA \(schema)")
        try c.query("SET search_path TO \(schema)")
        try c.query("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        for (id, sql) in postgres {
            try c.transaction {
                for statement in sql.split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    try c.query(String(statement))
                }
                try c.query("INSERT INTO schema_migrations (name) VALUES ($1)", [id])
            }
            if id == last { break }
        }
        return c
    }
}
