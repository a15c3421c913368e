import Foundation
import Hummingbird

/// Looks tokens up by hash, with a small cache so that ingestion does not hit the store per
/// request, and records when each token was last accepted.
///
/// A token revoked through this server's API is forgotten at once (and, in a cluster, by the
/// other servers on their notice); one revoked by `vertac-serve token revoke` beside a running
/// server stops working within ``ttl``.
actor TokenVerifier {
    let store: any TokenRepository
    private var cache: [String: (TokenRecord?, Double)] = [:]
    /// When each token's use was last written: at most once a minute per token.
    private var usedWritten: [String: Double] = [:]
    /// Seconds a lookup is trusted.
    let ttl: Double
    static let useResolution: Double = 60
    private let clock: @Sendable () -> Double

    init(store: any TokenRepository, ttl: Double = 1, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.store = store
        self.ttl = ttl
        self.clock = clock
    }

    /// Bumped by ``forgetAll()``: a lookup that was under way then is not cached (it may have
    /// read the token before its revocation).
    private var generation = 0

    /// The token's record (revoked ones too; the caller refuses them), nil when unknown.
    func verify(_ token: String) async throws -> TokenRecord? { try await verify(hash: Tokens.hash(token)) }

    /// Whether the token with this hash is revoked or unknown now (an open socket's check); false
    /// when the store does not answer.
    func isRefused(hash: String) async -> Bool {
        do { return try await verify(hash: hash, recordUse: false)?.isRevoked ?? true } catch { return false }
    }

    func verify(hash h: String, recordUse: Bool = true) async throws -> TokenRecord? {
        let now = clock()
        let record: TokenRecord?
        if let (cached, at) = cache[h], now - at < ttl {
            record = cached
        } else {
            let started = generation
            record = try await store.token(hash: h)
            if cache.count > 10_000 { cache.removeAll() }
            if generation == started { cache[h] = (record, now) }
        }
        guard recordUse else { return record }
        if let record, !record.isRevoked, now - (usedWritten[record.id] ?? -.infinity) >= Self.useResolution {
            usedWritten[record.id] = now
            if usedWritten.count > 10_000 { usedWritten = [record.id: now] }
            // Off the request's path; a failed write only leaves the time older.
            let (store, id) = (store, record.id)
            Task.detached { try? await store.tokenUsed(id: id, at: now) }
        }
        return record
    }

    /// Forgets every cached lookup (a token was revoked).
    func forgetAll() {
        cache.removeAll()
        generation += 1
    }
}

/// Requires `Authorization: Bearer <token>` with a scope
/// that allows `scope`: 401 when missing or unknown, 403 when the scope does not allow the route.
struct RequireScope<Context: RequestContext>: RouterMiddleware {
    let verifier: TokenVerifier
    let scope: TokenScope
    var limiter: RateLimiter? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let record = try await authorize(request, verifier: verifier, scope: scope, queryToken: false)
        if let limiter, let wait = await limiter.take(record.hash) {
            var e = APIError(.tooManyRequests, "rate_limited", "too many requests for this token; retry in \(Int(wait.rounded(.up))) s")
            e.headers[.retryAfter] = "\(Int(wait.rounded(.up)))"
            throw e
        }
        return try await next(request, context)
    }
}

/// The token check of ``RequireScope``, for WebSocket upgrades too.
///
/// - Parameter queryToken: whether `?token=` may carry the token. Only WebSocket upgrades allow
///   it (browsers cannot set headers on them); on other routes a token in the URL would end up
///   in access logs and browser history, so it is refused.
@discardableResult
func authorize(_ request: Request, verifier: TokenVerifier, scope: TokenScope, queryToken: Bool) async throws -> TokenRecord {
    let query = request.uri.queryParameters.get("token").map { String($0) }
    guard queryToken || query == nil || request.headers[.authorization] != nil else {
        var e = APIError(.unauthorized, "unauthorized", "send the token as Authorization: Bearer <token>; ?token= is for WebSockets only")
        e.headers[.wwwAuthenticate] = "Bearer"
        throw e
    }
    return try await authorize(header: request.headers[.authorization], query: queryToken ? query : nil, verifier: verifier, scope: scope)
}

/// The token check on the raw values: the `Authorization` header, else a `?token=` (already
/// allowed by the caller).
@discardableResult
func authorize(header: String?, query: String?, verifier: TokenVerifier, scope: TokenScope) async throws -> TokenRecord {
    var token: String?
    if let header {
        guard header.lowercased().hasPrefix("bearer ") else {
            throw APIError(.unauthorized, "unauthorized", "Authorization must be \"Bearer <token>\"")
        }
        token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    } else {
        token = query
    }
    guard let token, !token.isEmpty else {
        var e = APIError(.unauthorized, "unauthorized", "a token is required: Authorization: Bearer <token>")
        e.headers[.wwwAuthenticate] = "Bearer"
        throw e
    }
    guard let record = try await verifier.verify(token), !record.isRevoked else {
        var e = APIError(.unauthorized, "unauthorized", "unknown or revoked token")
        e.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\""
        throw e
    }
    guard record.scope.allows(scope) else {
        throw APIError(.forbidden, "forbidden", "this route needs a \(scope.rawValue) token; this one is \(record.scope.rawValue)")
    }
    return record
}
