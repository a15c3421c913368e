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
}
