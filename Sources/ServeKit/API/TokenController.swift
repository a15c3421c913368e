import Hummingbird
import Inference
import Logging

/// Tokens for admins: `GET /api/v1/tokens` lists them (never their secrets), `DELETE
/// /api/v1/tokens/{id}` revokes one at once. New tokens are made with `vertac-serve token
/// create`, which shows the secret once.
struct TokenController: Sendable {
    let store: any Store
    let verifier: TokenVerifier
    /// In a cluster, tells the other servers to forget their cached lookups.
    let bus: ClusterBus?
    let clock: @Sendable () -> Double
    let logger: Logger

    func addRoutes(to group: RouterGroup<VertacRequestContext>) {
        group.get(use: list)
        group.delete(":id", use: revoke)
    }

    @Sendable func list(_ request: Request, context: VertacRequestContext) async throws -> TokenList {
        TokenList(tokens: try await store.tokens().map(TokenView.init))
    }

    /// Revokes a token: refused from the next request on, here and on the cluster's other
    /// servers; it stays listed with its revocation time. The last admin token that is not
    /// revoked cannot be revoked (nobody could manage tokens through the API any more).
    @Sendable func revoke(_ request: Request, context: VertacRequestContext) async throws -> TokenView {
        let id = try context.parameters.require("id")
        let (token, revoked) = try await Tokens.revoke(id: id, in: store, at: clock())
        await verifier.forgetAll()
        bus?.send(.tokens)
        if !token.isRevoked {
            logger.notice("token revoked", metadata: ["token_id": "\(id)", "name": "\(revoked.name)", "scope": "\(revoked.scope.rawValue)"])
        }
        return TokenView(revoked)
    }
}

struct TokenView: ResponseEncodable {
    let id: String
    let name: String
    let scope: String
    let created_at: String
    /// To the minute.
    let last_used_at: String?
    let revoked_at: String?

    init(_ t: TokenRecord) {
        (id, name, scope) = (t.id, t.name, t.scope.rawValue)
        created_at = Timestamp.format(t.createdAt)
        last_used_at = t.lastUsedAt.map(Timestamp.format)
        revoked_at = t.revokedAt.map(Timestamp.format)
    }
}

struct TokenList: ResponseEncodable { let tokens: [TokenView] }
