import Foundation
import Hummingbird

/// Looks tokens up by hash, with a small cache so that ingestion does not hit the store per request.
public actor TokenVerifier {
    let store: any Store
    private var cache: [String: (TokenRecord?, Double)] = [:]
    /// Seconds a lookup is trusted (a revoked token stops working within this time).
    let ttl: Double = 5

    public init(store: any Store) { self.store = store }

    func verify(_ token: String) async throws -> TokenRecord? {
        let h = Tokens.hash(token)
        let now = Date().timeIntervalSince1970
        if let (record, at) = cache[h], now - at < ttl { return record }
        let record = try await store.token(hash: h)
        if cache.count > 10_000 { cache.removeAll() }
        cache[h] = (record, now)
        return record
    }
}

/// Requires `Authorization: Bearer <token>` (or `?token=` for browsers' WebSockets) with a scope
/// that allows `scope`: 401 when missing or unknown, 403 when the scope does not allow the route.
struct RequireScope<Context: RequestContext>: RouterMiddleware {
    let verifier: TokenVerifier
    let scope: TokenScope
    var limiter: RateLimiter? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let record = try await authorize(request, verifier: verifier, scope: scope)
        if let limiter, let wait = await limiter.take(record.hash) {
            var e = APIError(.tooManyRequests, "rate_limited", "too many requests for this token; retry in \(Int(wait.rounded(.up))) s")
            e.headers[.retryAfter] = "\(Int(wait.rounded(.up)))"
            throw e
        }
        return try await next(request, context)
    }
}

/// The token check of ``RequireScope``, for WebSocket upgrades too.
@discardableResult
func authorize(_ request: Request, verifier: TokenVerifier, scope: TokenScope) async throws -> TokenRecord {
    var token: String?
    if let header = request.headers[.authorization] {
        guard header.lowercased().hasPrefix("bearer ") else {
            throw APIError(.unauthorized, "unauthorized", "Authorization must be \"Bearer <token>\"")
        }
        token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    } else {
        token = request.uri.queryParameters.get("token")
    }
    guard let token, !token.isEmpty else {
        var e = APIError(.unauthorized, "unauthorized", "a token is required: Authorization: Bearer <token>")
        e.headers[.wwwAuthenticate] = "Bearer"
        throw e
    }
    guard let record = try await verifier.verify(token) else {
        var e = APIError(.unauthorized, "unauthorized", "unknown or revoked token")
        e.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\""
        throw e
    }
    guard record.scope.allows(scope) else {
        throw APIError(.forbidden, "forbidden", "this route needs a \(scope.rawValue) token; this one is \(record.scope.rawValue)")
    }
    return record
}
