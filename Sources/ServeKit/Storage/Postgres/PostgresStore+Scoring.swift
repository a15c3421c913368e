import Foundation
import Inference

extension PostgresStore {
    func commitScoring(scores: [ScoreRecord], states: [SensorStateRecord], transitions: [TransitionRecord],
                              events: [MaintenanceEvent]) async throws {
        var lines = ""
        for s in scores { lines += "\(s.streamID)\t\(s.time)\t\(s.cycleID ?? "\\N")\t\(s.score)\t\(Self.array(s.sensorScores))\n" }
        let streams = Set(scores.map(\.streamID) + states.map(\.streamID) + transitions.map(\.streamID) + events.map(\.stream))
        try await pool.with { [lines, fences] c in
            try c.transaction {
                try c.checkFences(fences, streams: streams)
                // Scores may be re-sent after a restart replays rows: replace rather than fail.
                if !lines.isEmpty {
                    try c.query("CREATE TEMP TABLE IF NOT EXISTS incoming_scores (LIKE window_scores) ON COMMIT DELETE ROWS")
                    try c.copy("COPY incoming_scores (stream_id, t, cycle_id, score, sensor_scores) FROM STDIN", lines: lines)
                    try c.query("""
                        INSERT INTO window_scores SELECT * FROM incoming_scores
                        ON CONFLICT (stream_id, t) DO UPDATE SET cycle_id = EXCLUDED.cycle_id, score = EXCLUDED.score,
                            sensor_scores = EXCLUDED.sensor_scores
                        """)
                }
                for s in states { try c.execute(StoreStatements.upsert(s)) }
                for t in transitions { try c.execute(StoreStatements.insert(t)) }
                // An event an engineer reviewed meanwhile keeps the review (the pipeline's copy may
                // be older); the row stays locked until the commit.
                for e in events {
                    let stored = try c.query("SELECT body FROM events WHERE id = $1 FOR UPDATE", [e.id]).rows.first
                        .map { try $0.json("body", as: MaintenanceEvent.self) }
                    try c.execute(try StoreStatements.upsert(stored.map { e.keepingReview(of: $0) } ?? e))
                }
            }
        }
    }

    func scores(stream: String, from: Double, to: Double) async throws -> [ScoreRecord] {
        try await pool.with { c in
            try c.query("SELECT * FROM window_scores WHERE stream_id = $1 AND t >= $2 AND t <= $3 ORDER BY t",
                        [stream, "\(from)", to.isFinite ? "\(to)" : "Infinity"]).rows
                .map { try ScoreRecord(row: $0) }
        }
    }

    func sensorStates(stream: String) async throws -> [SensorStateRecord] {
        try await pool.with { c in
            try c.query("SELECT * FROM sensor_states WHERE stream_id = $1 ORDER BY sensor", [stream]).rows
                .map { try SensorStateRecord(row: $0) }
        }
    }

    func transitions(stream: String, limit: Int) async throws -> [TransitionRecord] {
        try await pool.with { c in
            try c.query("SELECT * FROM transitions WHERE stream_id = $1 ORDER BY id DESC LIMIT $2", [stream, "\(limit)"]).rows
                .map { try TransitionRecord(row: $0) }
        }
    }

    func saveEvent(_ e: MaintenanceEvent, note: EventNote?) async throws {
        let upsert = try StoreStatements.upsert(e)
        try await pool.with { c in
            try c.transaction {
                try c.execute(upsert)
                if let note { try c.execute(StoreStatements.insert(note)) }
            }
        }
    }

    func eventNotes(events ids: [String]) async throws -> [String: [EventNote]] {
        guard !ids.isEmpty else { return [:] }
        // One array parameter; every element quoted, so no id can break out of it.
        let array = "{" + ids.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
        let notes = try await pool.with { c in
            try c.query("SELECT event_id, author, note, written_at FROM event_notes WHERE event_id = ANY($1::text[]) ORDER BY id", [array]).rows
                .map { try EventNote(row: $0) }
        }
        return Dictionary(grouping: notes, by: \.eventID)
    }

    func event(_ id: String) async throws -> MaintenanceEvent? {
        try await pool.with { c in try c.query("SELECT body FROM events WHERE id = $1", [id]).rows.first.map { try $0.json("body") } }
    }

    func events(status: EventStatus?, stream: String?) async throws -> [MaintenanceEvent] {
        try await pool.with { c in
            try c.query("""
                SELECT body FROM events WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR stream_id = $2) ORDER BY opened_at DESC
                """, [status?.rawValue, stream]).rows.map { try $0.json("body") }
        }
    }

    func saveModel(_ m: ModelRecord) async throws {
        let upsert = try StoreStatements.upsert(m)
        try await pool.with { c in
            try c.transaction {
                if m.active {
                    // Locked until the commit, so that two activations do not both leave theirs active.
                    for row in try c.query("SELECT body FROM models WHERE active AND id <> $1 FOR UPDATE", [m.id]).rows {
                        try c.execute(try StoreStatements.deactivate(try row.json("body")))
                    }
                }
                try c.execute(upsert)
            }
        }
    }

    func models() async throws -> [ModelRecord] {
        try await pool.with { c in try c.query("SELECT body FROM models ORDER BY loaded_at DESC").rows.map { try $0.json("body") } }
    }

    func saveToken(_ t: TokenRecord) async throws {
        let body = try Self.json(t)
        try await pool.with { c in
            try c.query("""
                INSERT INTO tokens (id, hash, scope, body, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5::double precision, $6::double precision)
                ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, scope = EXCLUDED.scope, body = EXCLUDED.body,
                    last_used_at = EXCLUDED.last_used_at, revoked_at = EXCLUDED.revoked_at
                """, [t.id, t.hash, t.scope.rawValue, body, t.lastUsedAt.map { "\($0)" }, t.revokedAt.map { "\($0)" }])
        }
    }

    func token(hash: String) async throws -> TokenRecord? {
        try await pool.with { c in
            try c.query("SELECT body, last_used_at, revoked_at FROM tokens WHERE hash = $1", [hash]).rows.first.map { try TokenRecord(row: $0) }
        }
    }

    func tokens() async throws -> [TokenRecord] {
        try await pool.with { c in try c.query("SELECT body, last_used_at, revoked_at FROM tokens ORDER BY id").rows.map { try TokenRecord(row: $0) } }
    }

    func revokeToken(id: String, at time: Double) async throws -> TokenRecord? {
        try await pool.with { c in
            try c.query("""
                UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2::double precision) WHERE id = $1
                RETURNING body, last_used_at, revoked_at
                """, [id, "\(time)"]).rows.first.map { try TokenRecord(row: $0) }
        }
    }

    func tokenUsed(id: String, at time: Double) async throws {
        try await pool.with { c in
            try c.query("UPDATE tokens SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2::double precision) WHERE id = $1", [id, "\(time)"])
        }
    }

    func saveModelFile(id: String, bytes: Data) async throws {
        let hex = "\\x" + bytes.map { String(format: "%02x", $0) }.joined()
        try await pool.with { c in
            try c.query("INSERT INTO model_files (id, bytes) VALUES ($1, $2::bytea) ON CONFLICT (id) DO UPDATE SET bytes = EXCLUDED.bytes", [id, hex])
        }
    }

    func modelFile(id: String) async throws -> Data? {
        let hex = try await pool.with { c in
            try c.query("SELECT encode(bytes, 'hex') AS hex FROM model_files WHERE id = $1", [id]).rows.first.map { try $0.string("hex") }
        }
        guard let hex else { return nil }
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { throw StoreError.unparsable("hex", String(hex.prefix(16)), as: Data.self) }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: throw StoreError.unparsable("hex", String(hex.prefix(16)), as: Data.self)
            }
        }
        var out = Data(capacity: digits.count / 2)
        for k in stride(from: 0, to: digits.count, by: 2) { out.append(try nibble(digits[k]) << 4 | nibble(digits[k + 1])) }
        return out
    }

    func saveAssignment(stream: String, history: [String]) async throws {
        let upsert = try StoreStatements.assign(stream: stream, history: history)
        try await pool.with { try $0.execute(upsert) }
    }

    func assignments() async throws -> [String: [String]] {
        try await pool.with { c in
            var out: [String: [String]] = [:]
            for r in try c.query("SELECT stream_id, history FROM model_assignments").rows { out[try r.string("stream_id")] = try r.json("history") }
            return out
        }
    }
}
