import Foundation
import GRDB

/// The edge's on-disk outbox (SQLite): everything to send, in order, kept until the server has
/// acknowledged it — across network outages, server restarts and edge restarts.
public final class EdgeBuffer: Sendable {
    let db: DatabaseQueue

    /// One item waiting to be sent.
    public struct Item: Sendable, Equatable {
        public let seq: Int64
        /// `batch` or a cycle event (`start`, `stop`, …).
        public let kind: String
        /// The JSON body (for a batch, including its `batch_id`).
        public let body: String
    }

    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        db = try DatabaseQueue(path: path, configuration: config)
        var m = DatabaseMigrator()
        m.registerMigration("001_outbox") { db in
            try db.execute(sql: """
                CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);
                CREATE TABLE dead (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, reason TEXT NOT NULL);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
        }
        try m.migrate(db)
    }

    public func enqueue(kind: String, body: String) throws {
        try db.write { try $0.execute(sql: "INSERT INTO outbox (kind, body) VALUES (?, ?)", arguments: [kind, body]) }
    }

    /// The oldest item, if any.
    public func first() throws -> Item? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, kind, body FROM outbox ORDER BY seq LIMIT 1")
                .map { Item(seq: $0["seq"], kind: $0["kind"], body: $0["body"]) }
        }
    }

    public func remove(_ seq: Int64) throws {
        try db.write { try $0.execute(sql: "DELETE FROM outbox WHERE seq = ?", arguments: [seq]) }
    }

    /// Moves an item the server refused for good aside, with the reason.
    public func bury(_ item: Item, reason: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO dead (seq, kind, body, reason) VALUES (?, ?, ?, ?)", arguments: [item.seq, item.kind, item.body, reason])
            try db.execute(sql: "DELETE FROM outbox WHERE seq = ?", arguments: [item.seq])
        }
    }

    public var count: Int { (try? db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox") ?? 0 }) ?? 0 }
    public var deadCount: Int { (try? db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM dead") ?? 0 }) ?? 0 }

    public func meta(_ key: String) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try db.write { try $0.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", arguments: [key, value]) }
    }
}
