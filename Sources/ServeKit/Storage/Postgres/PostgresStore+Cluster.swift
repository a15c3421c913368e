import Foundation

/// Membership and leases in PostgreSQL (`docs/scale-out.md`). Every time is the database's
/// clock: the servers' clocks may disagree, the database's cannot.
extension PostgresStore: ClusterRepository {
    /// The database's clock in seconds since 1970, as SQL: one value within a statement.
    static let dbNow = "extract(epoch from statement_timestamp())::double precision"

    func clusterNow() async throws -> Double {
        try await pool.with { c in try c.query("SELECT \(Self.dbNow) AS now").rows[0].double("now") }
    }

    func announce(node: String, address: String, keepingStartWithin seconds: Double) async throws {
        try await pool.with { c in
            try c.query("""
                INSERT INTO cluster_nodes AS n (id, address, started_at, heartbeat_at) VALUES ($1, $2, \(Self.dbNow), \(Self.dbNow))
                ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address,
                    started_at = CASE WHEN n.heartbeat_at >= \(Self.dbNow) - $3 THEN n.started_at ELSE EXCLUDED.started_at END,
                    heartbeat_at = EXCLUDED.heartbeat_at
                """, [node, address, "\(seconds)"])
        }
    }

    func heartbeat(node: String) async throws -> Bool {
        try await pool.with { c in
            try c.query("UPDATE cluster_nodes SET heartbeat_at = \(Self.dbNow) WHERE id = $1 RETURNING id", [node]).rows.count == 1
        }
    }

    func nodes() async throws -> (now: Double, nodes: [NodeRecord]) {
        try await pool.with { c in
            let now = try c.query("SELECT \(Self.dbNow) AS now").rows[0].double("now")
            let nodes = try c.query("SELECT * FROM cluster_nodes ORDER BY id").rows.map {
                NodeRecord(id: try $0.string("id"), address: try $0.string("address"), startedAt: try $0.double("started_at"),
                           heartbeatAt: try $0.double("heartbeat_at"))
            }
            return (now, nodes)
        }
    }

    func leave(node: String) async throws {
        try await pool.with { c in
            try c.transaction {
                try c.query("UPDATE stream_leases SET expires_at = 0 WHERE node_id = $1", [node])
                try c.query("DELETE FROM cluster_nodes WHERE id = $1", [node])
            }
        }
    }

    func forgetNodes(silentFor seconds: Double) async throws {
        try await pool.with { c in try c.query("DELETE FROM cluster_nodes WHERE heartbeat_at < \(Self.dbNow) - $1", ["\(seconds)"]) }
    }

    static func lease(_ row: PGRow) throws -> Lease {
        Lease(stream: try row.string("stream_id"), node: try row.string("node_id"), fence: Int64(try row.int("fence")),
              expiresAt: try row.double("expires_at"))
    }

    func acquireLease(stream: String, node: String, seconds: Double) async throws -> Lease? {
        try await pool.with { c in
            // The conflict branch runs only for a lease that is free, expired or this node's; the
            // fence stays only when this node renews a lease it still holds.
            try c.query("""
                INSERT INTO stream_leases AS l (stream_id, node_id, fence, expires_at) VALUES ($1, $2, 1, \(Self.dbNow) + $3)
                ON CONFLICT (stream_id) DO UPDATE SET
                    node_id = EXCLUDED.node_id,
                    fence = CASE WHEN l.node_id = EXCLUDED.node_id AND l.expires_at >= \(Self.dbNow) THEN l.fence ELSE l.fence + 1 END,
                    expires_at = EXCLUDED.expires_at
                WHERE l.node_id = EXCLUDED.node_id OR l.expires_at < \(Self.dbNow)
                RETURNING stream_id, node_id, fence, expires_at
                """, [stream, node, "\(seconds)"]).rows.first.map(Self.lease)
        }
    }

    func renewLeases(node: String, streams: [String], seconds: Double) async throws -> [Lease] {
        guard !streams.isEmpty else { return [] }
        return try await pool.with { c in
            // The rows are locked in stream order first, as checkFences locks them: two orders
            // would deadlock a renewal with a scoring commit.
            try c.query("""
                UPDATE stream_leases SET expires_at = \(Self.dbNow) + $3
                WHERE stream_id IN (SELECT stream_id FROM stream_leases WHERE node_id = $1 AND stream_id = ANY($2::text[])
                                    AND expires_at >= \(Self.dbNow) ORDER BY stream_id FOR UPDATE)
                    AND node_id = $1 AND expires_at >= \(Self.dbNow)
                RETURNING stream_id, node_id, fence, expires_at
                """, [node, PGConnection.textArray(streams), "\(seconds)"]).rows.map(Self.lease)
        }
    }

    func lease(stream: String) async throws -> Lease? {
        try await pool.with { c in try c.query("SELECT * FROM stream_leases WHERE stream_id = $1", [stream]).rows.first.map(Self.lease) }
    }

    func releaseLease(stream: String, node: String) async throws {
        try await pool.with { c in
            try c.query("UPDATE stream_leases SET expires_at = 0 WHERE stream_id = $1 AND node_id = $2", [stream, node])
        }
    }

    func awaitWriters(stream: String) async throws {
        try await pool.with { c in
            try c.transaction { try c.query("SELECT id FROM streams WHERE id = $1 FOR SHARE", [stream]) }
        }
    }

    func leases() async throws -> [Lease] {
        try await pool.with { c in try c.query("SELECT * FROM stream_leases ORDER BY stream_id").rows.map(Self.lease) }
    }
}

extension PGConnection {
    /// Inside a transaction that writes the data of `streams` for their owner: refuses it when
    /// one of them is not held under the fence in `book` (nothing to check without a book: a
    /// server alone). The lease rows stay locked until the commit, so a takeover waits for it.
    func checkFences(_ book: FenceBook?, streams: some Sequence<String>) throws {
        guard let book else { return }
        let ids = Array(Set(streams)).sorted()
        guard !ids.isEmpty else { return }
        let list = PGConnection.textArray(ids)
        var current: [String: Int64] = [:]
        for row in try query("SELECT stream_id, fence FROM stream_leases WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR SHARE",
                             [list]).rows {
            current[try row.string("stream_id")] = Int64(try row.int("fence"))
        }
        for id in ids {
            let held = book.fence(id)
            guard let held, held == current[id] else { throw FenceRefused(stream: id, held: held, current: current[id]) }
        }
    }
}

extension PGConnection {
    /// A `text[]` literal of `values`, each quoted.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }
}

/// Notices between the servers of a cluster (``ClusterBus``): PostgreSQL's LISTEN/NOTIFY on one
/// channel per schema, since the servers of one schema form one cluster.
extension PostgresStore {
    /// This cluster's channel: `vertac_` and the schema's name (at most 63 bytes, PostgreSQL's
    /// limit for a channel name).
    func noticeChannel() async throws -> String {
        let schema = try await pool.with { c in try c.query("SELECT current_schema() AS s").rows[0].string("s") }
        var channel = ""
        for ch in "vertac_" + schema where channel.utf8.count + String(ch).utf8.count <= 63 { channel.append(ch) }
        return channel
    }

    /// Sends `payloads` on `channel`, in this order, in one statement.
    func notify(channel: String, payloads: [String]) async throws {
        guard !payloads.isEmpty else { return }
        try await pool.with { c in
            _ = try c.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, k) ORDER BY k",
                            [channel, PGConnection.textArray(payloads)])
        }
    }

    /// A connection of its own that listens on `channel` (blocking: call it on a thread of its own).
    func listener(channel: String) throws -> PGConnection {
        let c = try pool.dedicatedConnection()
        try c.query("LISTEN \"\(channel.replacingOccurrences(of: "\"", with: "\"\""))\"")
        return c
    }
}
