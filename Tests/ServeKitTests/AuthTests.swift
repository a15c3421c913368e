import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ServeKit

@Suite struct AuthTests {
    func call(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil)
        async throws -> (HTTPResponse.Status, String?)
    {
        let headers: HTTPFields = token.map { [.authorization: "Bearer \($0)"] } ?? [:]
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
            (r.status, ((try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any]).flatMap { ($0["error"] as? [String: Any])?["code"] as? String })
        }
    }

    @Test func scopesGuardTheRoutes() async throws {
        let dir = DataDir()
        let parts = try await makeServerParts(settings(dir), logger: .init(label: "test"))
        let admin = try #require(parts.initialAdminToken)
        // The first start wrote the admin token, readable by its owner only.
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/admin.token")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).hasPrefix(admin))
        // Only the hash is stored.
        #expect(try await parts.store.tokens().allSatisfy { $0.hash == Tokens.hash(admin) && !$0.hash.contains(admin) })
        let (ingest, _) = try await Tokens.create(in: parts.store, scope: .ingest, name: "edge", now: 0)
        let (engineer, _) = try await Tokens.create(in: parts.store, scope: .engineer, name: "ana", now: 0)
        let app = try await buildApplication(settings(dir), parts: parts)
        try await app.test(.router) { client in
            #expect(try await call(client, .get, "/api/health", token: nil).0 == .ok)   // open
            let register = #"{"device_name": "m", "sensors": [{"name": "a"}]}"#
            do { let r = try await call(client, .post, "/api/live/register", token: nil, body: register); #expect(r.0 == .unauthorized && r.1 == "unauthorized") }
            do { let r = try await call(client, .post, "/api/live/register", token: "vt_nope", body: register); #expect(r.0 == .unauthorized && r.1 == "unauthorized") }
            do { let r = try await call(client, .post, "/api/live/register", token: engineer, body: register); #expect(r.0 == .forbidden && r.1 == "forbidden") }
            #expect(try await call(client, .post, "/api/live/register", token: ingest, body: register).0 == .ok)
            #expect(try await call(client, .post, "/api/live/register", token: admin, body: register).0 == .ok) // admin implies ingest
            do { let r = try await call(client, .get, "/api/v1/streams", token: ingest); #expect(r.0 == .forbidden && r.1 == "forbidden") }
            #expect(try await call(client, .get, "/api/v1/streams", token: engineer).0 == .ok)
            #expect(try await call(client, .get, "/api/v1/streams", token: admin).0 == .ok)
            do { let r = try await call(client, .get, "/api/v1/streams", token: nil); #expect(r.0 == .unauthorized && r.1 == "unauthorized") }
        }
        // A second start on the same store creates no new admin token.
        let again = try await makeServerParts(settings(dir), logger: .init(label: "test"))
        #expect(again.initialAdminToken == nil)
        #expect(try await again.store.tokens().count == 3)
    }

    /// Admins list tokens (never their secrets or hashes) and revoke them; a revoked token is
    /// refused from the next request on, and stays listed with its revocation time.
    @Test func tokensAreListedAndRevokedAtOnce() async throws {
        let dir = DataDir()
        let clock = ManualClock(1_767_225_600)
        var s = settings(dir)
        s.clock = { clock.time }
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let admin = try #require(parts.initialAdminToken)
        let (ingest, edge) = try await Tokens.create(in: parts.store, scope: .ingest, name: "edge-7", now: 0)
        let (engineer, _) = try await Tokens.create(in: parts.store, scope: .engineer, name: "ana", now: 0)
        let app = try await buildApplication(s, parts: parts)
        try await TestAuth.$token.withValue(admin) { try await app.test(.router) { client in
            func list(_ token: String) async throws -> (HTTPResponse.Status, [[String: Any]]) {
                try await client.execute(uri: "/api/v1/tokens", method: .get, headers: [.authorization: "Bearer \(token)"]) { r in
                    let body = (try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any]
                    #expect(!String(buffer: r.body).contains(admin) && !String(buffer: r.body).contains(Tokens.hash(admin)))
                    return (r.status, body?["tokens"] as? [[String: Any]] ?? [])
                }
            }
            #expect(try await call(client, .get, "/api/v1/tokens", token: engineer).0 == .forbidden)
            #expect(try await call(client, .delete, "/api/v1/tokens/\(edge.id)", token: engineer).0 == .forbidden)
            // The edge sends a batch: its token's use is recorded (off the request's path).
            #expect(try await call(client, .post, "/api/live/register", token: ingest, body: registerBody).0 == .ok)
            var used: Any?
            for _ in 0..<50 {
                let (status, tokens) = try await list(admin)
                #expect(status == .ok && tokens.count == 3)
                used = tokens.first { $0["id"] as? String == edge.id }?["last_used_at"]
                if used is String { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(used as? String == "2026-01-01T00:00:00Z", "\(String(describing: used))")

            let revoked = try await client.json(.delete, "/api/v1/tokens/\(edge.id)")
            #expect(revoked.status == .ok && revoked.body["revoked_at"] as? String == "2026-01-01T00:00:00Z" && revoked.body["name"] as? String == "edge-7")
            // Refused at once, though its lookup was cached a moment ago.
            let refused = try await call(client, .post, "/api/live/register", token: ingest, body: registerBody)
            #expect(refused.0 == .unauthorized && refused.1 == "unauthorized")
            // Revoking again keeps the first time.
            clock.advance(60)
            #expect(try await client.json(.delete, "/api/v1/tokens/\(edge.id)").body["revoked_at"] as? String == "2026-01-01T00:00:00Z")
            let listed = try await list(admin).1.first { $0["id"] as? String == edge.id }
            #expect(listed?["revoked_at"] as? String == "2026-01-01T00:00:00Z" && listed?["scope"] as? String == "ingest")
            #expect(listed?["hash"] == nil && listed?["secret"] == nil)

            let unknown = try await call(client, .delete, "/api/v1/tokens/nope", token: admin)
            #expect(unknown.0 == .notFound && unknown.1 == "unknown_token")
            let adminID = String(Tokens.hash(admin).prefix(12))
            let last = try await call(client, .delete, "/api/v1/tokens/\(adminID)", token: admin)
            #expect(last.0 == .conflict && last.1 == "last_admin_token")
            #expect(try await call(client, .get, "/api/v1/streams", token: engineer).0 == .ok)
        } }
    }

    /// `vertac-serve token list|revoke` work on the store beside the server.
    @Test func tokensAreListedAndRevokedFromTheCommandLine() async throws {
        let dir = DataDir()
        let (secret, created) = try await TokenAdministration.create(scope: .admin, name: "first", dataDirectory: dir.path, databaseURL: nil, now: 0)
        let (_, second) = try await TokenAdministration.create(scope: .ingest, name: "press-3", dataDirectory: dir.path, databaseURL: nil, now: 86_400)
        let id = String(Tokens.hash(secret).prefix(12))
        #expect(created == "admin token \(id) (first)")
        let table = try await TokenAdministration.list(dataDirectory: dir.path, databaseURL: nil)
        let lines = table.split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("ID") && table.contains("press-3") && table.contains("1970-01-02T00:00:00Z"))
        #expect(!table.contains(secret))
        do {
            _ = try await TokenAdministration.revoke(id: id, dataDirectory: dir.path, databaseURL: nil, now: 5)
            Issue.record("the last admin token was revoked")
        } catch let e as ServiceError {
            #expect(e.code == .lastAdminToken)
        }
        let ingestID = try #require(second.split(separator: " ").dropFirst(2).first.map(String.init))
        #expect(try await TokenAdministration.revoke(id: ingestID, dataDirectory: dir.path, databaseURL: nil, now: 5) == "revoked ingest token \(ingestID) (press-3)")
        #expect(try await TokenAdministration.list(dataDirectory: dir.path, databaseURL: nil).contains("1970-01-01T00:00:05Z"))
    }

    /// An open socket whose token is revoked is closed: a stream socket at its next message, a
    /// review feed that only receives within a second or two.
    @Test func openSocketsCloseWhenTheirTokenIsRevoked() async throws {
        let dir = DataDir()
        var s = settings(dir)
        s.port = 0
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let stream = try await parts.live.register(json: registerBody).streamID
        let (ingest, edge) = try await Tokens.create(in: parts.store, scope: .ingest, name: "edge", now: 0)
        let (engineer, ana) = try await Tokens.create(in: parts.store, scope: .engineer, name: "ana", now: 0)
        let app = try await buildApplication(s, parts: parts)
        try await testApp(app, dir, .live) { client in
            try await client.ws("/api/live/ws/stream/\(stream)?pushes=false", configuration: .init(additionalHeaders: [.authorization: "Bearer \(ingest)"])) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                try await outbound.write(.text("ping"))
                #expect(try await messages.next()["type"] as? String == "pong")
                _ = try await parts.store.revokeToken(id: edge.id, at: 1)
                await parts.verifier.forgetAll()
                try await outbound.write(.text("ping"))
                #expect(try await messages.next().isEmpty, "the socket of a revoked token answered")
            }
            try await client.ws("/api/v1/live", configuration: .init(additionalHeaders: [.authorization: "Bearer \(engineer)"])) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                try await outbound.write(.text(#"{"subscribe": "*", "events": true}"#))
                #expect(try await messages.next()["type"] as? String == "subscribed")
                _ = try await parts.store.revokeToken(id: ana.id, at: 1)
                await parts.verifier.forgetAll()
                let started = Date()
                #expect(try await messages.next().isEmpty, "the feed of a revoked token stayed open")
                #expect(Date().timeIntervalSince(started) < 5)
            }
        }
    }
}
