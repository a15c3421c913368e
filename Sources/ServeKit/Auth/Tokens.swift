import Foundation
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

    init(id: String, name: String, scope: TokenScope, hash: String, createdAt: Double) {
        self.id = id
        self.name = name
        self.scope = scope
        self.hash = hash
        self.createdAt = createdAt
    }
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

/// `vertac-serve token create`: a token made in the store a server would open with the same
/// options (PostgreSQL when `databaseURL` is given, else `<dataDirectory>/vertac.sqlite`).
public enum TokenAdministration {
    /// - Returns: the secret (shown once; only its hash is stored) and a line describing the token.
    public static func create(scope: TokenScope, name: String, dataDirectory: String, databaseURL: String?, now: Double) async throws
        -> (secret: String, description: String)
    {
        let store: any Store
        if let url = databaseURL {
            store = try await PostgresStore.open(url: url)
        } else {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            store = try SQLiteStore(path: (dataDirectory as NSString).appendingPathComponent("vertac.sqlite"))
        }
        let (secret, record) = try await Tokens.create(in: store, scope: scope, name: name, now: now)
        return (secret, "\(record.scope.rawValue) token \(record.id) (\(record.name))")
    }
}
