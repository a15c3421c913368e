/// The two SQL dialects the stores speak, and the few places their schemas differ.
enum SQLDialect: Sendable {
    case sqlite, postgres

    /// An 8-byte float.
    var double: String { self == .sqlite ? "REAL" : "DOUBLE PRECISION" }
    /// A 64-bit count.
    var bigint: String { self == .sqlite ? "INTEGER" : "BIGINT" }
    var boolean: String { self == .sqlite ? "INTEGER" : "BOOLEAN" }
    var bytes: String { self == .sqlite ? "BLOB" : "BYTEA" }
    /// A vector of 4-byte floats: raw `Float`s in a blob (SQLite) or a `REAL[]` (PostgreSQL).
    var floats: String { self == .sqlite ? "BLOB" : "REAL[]" }
    /// A vector of 8-byte floats: raw `Double`s in a blob (SQLite) or a `DOUBLE PRECISION[]` (PostgreSQL).
    var doubles: String { self == .sqlite ? "BLOB" : "DOUBLE PRECISION[]" }
    /// An increasing row id, the table's key.
    var serialKey: String { self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY" }
    /// After a table keyed by its primary key alone (SQLite stores it clustered).
    var withoutRowID: String { self == .sqlite ? " WITHOUT ROWID" : "" }

    /// The text at `key` of a JSON object stored as text in `column`.
    func jsonText(_ column: String, _ key: String) -> String {
        self == .sqlite ? "json_extract(\(column), '$.\(key)')" : "\(column)::json->>'\(key)'"
    }

    /// The number at `key` of a JSON object stored as text in `column`.
    func jsonDouble(_ column: String, _ key: String) -> String {
        self == .sqlite ? jsonText(column, key) : "(\(jsonText(column, key)))::double precision"
    }
}

/// One schema change, applied once, in order, in one transaction, and recorded under its id
/// (SQLite: GRDB's `grdb_migrations`; PostgreSQL: `schema_migrations`).
struct Migration: Sendable {
    let id: String
    let sql: @Sendable (SQLDialect) -> String
}

/// The schema, declared once for both stores. Ids and effects are those the first two
/// hand-written lists had, so databases created by them migrate unchanged (a test creates one
/// with the old lists and opens it); a change is a new migration at the end, never an edit.
enum Schema {
    static let migrations: [Migration] = [
        Migration(id: "001_streams_cycles_samples") { d in """
            CREATE TABLE streams (
                id TEXT PRIMARY KEY, device_name TEXT NOT NULL, dataset_id TEXT NOT NULL, registered_at \(d.double) NOT NULL,
                sensors TEXT NOT NULL, cycle_state TEXT NOT NULL, cycle_number INTEGER NOT NULL, state_since \(d.double) NOT NULL,
                last_activity \(d.double) NOT NULL, current_cycle_id TEXT, last_timestamp \(d.double), filled_values \(d.bigint) NOT NULL);
            CREATE TABLE cycles (
                id TEXT PRIMARY KEY, stream_id TEXT NOT NULL REFERENCES streams(id), number INTEGER NOT NULL, state TEXT NOT NULL,
                started_at \(d.double) NOT NULL, ended_at \(d.double), metadata TEXT NOT NULL, rows \(d.bigint) NOT NULL,
                health_score \(d.double), anomalous \(d.boolean), severity TEXT, report TEXT, label TEXT);
            CREATE INDEX cycles_by_stream ON cycles(stream_id, number);
            CREATE TABLE samples (
                stream_id TEXT NOT NULL, t \(d.double) NOT NULL, cycle_id TEXT, vals \(d.floats) NOT NULL, PRIMARY KEY (stream_id, t)
            )\(d.withoutRowID);
            CREATE INDEX samples_by_cycle ON samples(cycle_id, t);
            CREATE TABLE batches (
                stream_id TEXT NOT NULL, batch_id TEXT NOT NULL, ack_id TEXT NOT NULL, samples INTEGER NOT NULL, rows INTEGER NOT NULL,
                PRIMARY KEY (stream_id, batch_id))\(d.withoutRowID);
            """
        },
        Migration(id: "002_scores_states_events") { d in """
            CREATE TABLE window_scores (
                stream_id TEXT NOT NULL, t \(d.double) NOT NULL, cycle_id TEXT, score REAL NOT NULL, sensor_scores \(d.floats) NOT NULL,
                PRIMARY KEY (stream_id, t))\(d.withoutRowID);
            CREATE TABLE sensor_states (
                stream_id TEXT NOT NULL, sensor TEXT NOT NULL, state TEXT NOT NULL, since \(d.double) NOT NULL,
                above INTEGER NOT NULL, below INTEGER NOT NULL, warning_windows INTEGER NOT NULL,
                PRIMARY KEY (stream_id, sensor))\(d.withoutRowID);
            CREATE TABLE transitions (
                id \(d.serialKey), stream_id TEXT NOT NULL, sensor TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
                t \(d.double) NOT NULL, reason TEXT NOT NULL, evidence TEXT);
            CREATE INDEX transitions_by_stream ON transitions(stream_id, t);
            CREATE TABLE events (
                id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, sensor TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
                opened_at \(d.double) NOT NULL, updated_at \(d.double) NOT NULL, body TEXT NOT NULL);
            CREATE INDEX events_by_status ON events(status, opened_at);
            """
        },
        Migration(id: "003_models") { d in """
            CREATE TABLE models (id TEXT PRIMARY KEY, loaded_at \(d.double) NOT NULL, active \(d.boolean) NOT NULL, body TEXT NOT NULL);
            """
        },
        Migration(id: "004_tokens") { _ in """
            CREATE TABLE tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, body TEXT NOT NULL);
            """
        },
        Migration(id: "005_model_files") { d in """
            CREATE TABLE model_files (id TEXT PRIMARY KEY, bytes \(d.bytes) NOT NULL);
            CREATE TABLE model_assignments (stream_id TEXT PRIMARY KEY, history TEXT NOT NULL);
            """
        },
        // An event's notes as a history; the note an event carried so far becomes its first entry.
        Migration(id: "006_event_notes") { d in """
            CREATE TABLE event_notes (
                id \(d.serialKey), event_id TEXT NOT NULL, author TEXT NOT NULL, note TEXT NOT NULL, written_at \(d.double) NOT NULL);
            CREATE INDEX event_notes_by_event ON event_notes(event_id, id);
            INSERT INTO event_notes (event_id, author, note, written_at)
                SELECT id, COALESCE(\(d.jsonText("body", "resolvedBy")), \(d.jsonText("body", "acknowledgedBy")), 'engineer'),
                       \(d.jsonText("body", "note")),
                       COALESCE(\(d.jsonDouble("body", "resolvedAt")), \(d.jsonDouble("body", "acknowledgedAt")), updated_at)
                FROM events WHERE \(d.jsonText("body", "note")) IS NOT NULL ORDER BY opened_at;
            """
        },
        // Samples stored a batch to a row (``SampleChunk``); each stored sample row becomes a
        // chunk of one (its time is the chunk's first, `times` stays NULL).
        Migration(id: "007_sample_chunks") { d in """
            CREATE TABLE sample_chunks (
                stream_id TEXT NOT NULL, t_first \(d.double) NOT NULL, t_last \(d.double) NOT NULL, cycle_id TEXT,
                n INTEGER NOT NULL, times \(d.doubles), vals \(d.floats) NOT NULL);
            CREATE UNIQUE INDEX sample_chunks_by_stream ON sample_chunks(stream_id, t_first);
            CREATE INDEX sample_chunks_by_cycle ON sample_chunks(cycle_id, t_first);
            INSERT INTO sample_chunks (stream_id, t_first, t_last, cycle_id, n, times, vals)
                SELECT stream_id, t, t, cycle_id, 1, NULL, vals FROM samples;
            DROP TABLE samples;
            """
        },
        // Scale-out (`docs/scale-out.md`): the servers of a cluster and which one owns each
        // stream. Times are the database's clock. Used on PostgreSQL; SQLite serves one server.
        Migration(id: "008_cluster") { d in """
            CREATE TABLE cluster_nodes (
                id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at \(d.double) NOT NULL, heartbeat_at \(d.double) NOT NULL);
            CREATE TABLE stream_leases (
                stream_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, fence \(d.bigint) NOT NULL, expires_at \(d.double) NOT NULL);
            CREATE INDEX stream_leases_by_node ON stream_leases(node_id);
            """
        },
        // Tokens: when each was last accepted, and revocation (a revoked token stays listed).
        Migration(id: "009_token_use") { d in """
            ALTER TABLE tokens ADD COLUMN last_used_at \(d.double);
            ALTER TABLE tokens ADD COLUMN revoked_at \(d.double);
            """
        },
        // Retention (``RetentionRepository``): what remains of raw samples past their days, one
        // row per stream and second; a batch's last row time, so that old acknowledgements go too.
        Migration(id: "010_retention") { d in """
            CREATE TABLE sample_seconds (
                stream_id TEXT NOT NULL, t \(d.double) NOT NULL, n INTEGER NOT NULL, mins \(d.floats) NOT NULL, maxs \(d.floats) NOT NULL,
                means \(d.floats) NOT NULL, PRIMARY KEY (stream_id, t))\(d.withoutRowID);
            ALTER TABLE batches ADD COLUMN last_t \(d.double);
            CREATE INDEX batches_by_time ON batches(stream_id, last_t);
            CREATE INDEX events_by_stream ON events(stream_id, updated_at);
            """
        },
    ]
}
