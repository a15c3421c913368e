import Foundation
import Inference
import Model

/// What a token may do. `admin` implies the others; `engineer` and `ingest` are separate.
public enum TokenScope: String, Sendable, Codable, CaseIterable {
    case ingest, engineer, admin

    /// Whether a token of this scope may use a route that needs `needed`.
    func allows(_ needed: TokenScope) -> Bool { self == .admin || self == needed }
}

/// A stored token: only the SHA-256 of the secret is kept.
struct TokenRecord: Sendable, Equatable, Codable {
    var id: String
    var name: String
    var scope: TokenScope
    /// Lowercase hex SHA-256 of the token text.
    var hash: String
    var createdAt: Double
    /// When it was last accepted (to the minute: see ``TokenVerifier``); nil: never.
    var lastUsedAt: Double?
    /// When it was revoked; a revoked token is refused and kept for the record.
    var revokedAt: Double?

    init(id: String, name: String, scope: TokenScope, hash: String, createdAt: Double, lastUsedAt: Double? = nil, revokedAt: Double? = nil) {
        self.id = id
        self.name = name
        self.scope = scope
        self.hash = hash
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    var isRevoked: Bool { revokedAt != nil }

    /// Use and revocation are kept in columns of their own (written without rewriting the body).
    private enum CodingKeys: String, CodingKey { case id, name, scope, hash, createdAt }
}

enum Tokens {
    /// A new secret: `vt_` and 64 hex digits (256 random bits from the system generator).
    static func generate() -> String {
        var g = SystemRandomNumberGenerator()
        return "vt_" + (0..<4).map { _ in
            let hex = String(g.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    static func hash(_ token: String) -> String {
        var d = SHA256Digest()
        d.update(Array(token.utf8))
        return d.finalize()
    }

    /// Creates and stores a token; returns the secret (shown once) and its record.
    static func create(in store: any TokenRepository, scope: TokenScope, name: String, now: Double) async throws -> (String, TokenRecord) {
        let secret = generate()
        let record = TokenRecord(id: String(hash(secret).prefix(12)), name: name, scope: scope, hash: hash(secret), createdAt: now)
        try await store.saveToken(record)
        return (secret, record)
    }

    /// Revokes a token (one revoked before keeps its first time). The last admin token that is
    /// not revoked is kept: nobody could manage tokens through the API any more.
    ///
    /// - Returns: the token before and after.
    /// - Throws: ``ServiceError`` `unknown_token` or `last_admin_token`.
    static func revoke(id: String, in store: any TokenRepository, at time: Double) async throws -> (before: TokenRecord, after: TokenRecord) {
        let all = try await store.tokens()
        guard let token = all.first(where: { $0.id == id }) else { throw ServiceError(.unknownToken, "no token \"\(id)\"") }
        if token.scope == .admin, !token.isRevoked, all.count(where: { $0.scope == .admin && !$0.isRevoked }) == 1 {
            throw ServiceError(.lastAdminToken, "\"\(id)\" is the last admin token; create another (vertac-serve token create --scope admin) before revoking it")
        }
        guard let revoked = try await store.revokeToken(id: id, at: time) else { throw ServiceError(.unknownToken, "no token \"\(id)\"") }
        return (token, revoked)
    }

    /// On a store with no token at all, creates an admin token and writes it to
    /// `<dataDir>/admin.token` with mode 0600.
    ///
    /// - Returns: the new secret, or nil when tokens existed already.
    static func bootstrap(store: any TokenRepository, dataDirectory: String, now: Double) async throws -> String? {
        guard try await store.tokens().isEmpty else { return nil }
        let (secret, _) = try await create(in: store, scope: .admin, name: "initial admin", now: now)
        let path = (dataDirectory as NSString).appendingPathComponent("admin.token")
        guard FileManager.default.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ServiceError(.cannotWrite, "cannot write the admin token to \(path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return secret
    }
}

/// `vertac-serve token create|list|revoke`: tokens in the store a server would open with the
/// same options (PostgreSQL when `databaseURL` is given, else `<dataDirectory>/vertac.sqlite`),
/// beside a running server or not.
public enum TokenAdministration {
    /// - Returns: the secret (shown once; only its hash is stored) and a line describing the token.
    public static func create(scope: TokenScope, name: String, dataDirectory: String, databaseURL: String?, now: Double) async throws
        -> (secret: String, description: String)
    {
        try TextField.check(name, "name", maxLength: 128)
        let store = try await open(dataDirectory: dataDirectory, databaseURL: databaseURL)
        let (secret, record) = try await Tokens.create(in: store, scope: scope, name: name, now: now)
        return (secret, "\(record.scope.rawValue) token \(record.id) (\(record.name))")
    }

    /// Every token as a table: id, scope, name, created, last used (to the minute), revoked.
    public static func list(dataDirectory: String, databaseURL: String?) async throws -> String {
        let store = try await open(dataDirectory: dataDirectory, databaseURL: databaseURL)
        var rows: [[String]] = [["ID", "SCOPE", "NAME", "CREATED", "LAST USED", "REVOKED"]]
        for t in try await store.tokens() {
            let used: String = t.lastUsedAt.map(Timestamp.format) ?? "never"
            let revoked: String = t.revokedAt.map(Timestamp.format) ?? "-"
            rows.append([t.id, t.scope.rawValue, t.name, Timestamp.format(t.createdAt), used, revoked])
        }
        let widths = (0..<6).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    /// Revokes a token; servers on the same PostgreSQL refuse it at once (a notice), a server
    /// on the same SQLite file within a second. The last admin token that is not revoked is kept.
    ///
    /// - Returns: a line saying what was done.
    public static func revoke(id: String, dataDirectory: String, databaseURL: String?, now: Double) async throws -> String {
        let store = try await open(dataDirectory: dataDirectory, databaseURL: databaseURL)
        let (token, _) = try await Tokens.revoke(id: id, in: store, at: now)
        if token.isRevoked { return "token \(id) (\(token.name)) was revoked already" }
        if let pg = store as? PostgresStore { try await ClusterBus.announceTokens(on: pg) }
        return "revoked \(token.scope.rawValue) token \(id) (\(token.name))"
    }

    private static func open(dataDirectory: String, databaseURL: String?) async throws -> any Store {
        if let url = databaseURL { return try await PostgresStore.open(url: url) }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try SQLiteStore(path: (dataDirectory as NSString).appendingPathComponent("vertac.sqlite"))
    }
}
