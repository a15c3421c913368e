import Foundation
import Testing
@testable import ServeKit

/// Token handling depends on a ``TokenRepository`` only: tested here on the in-memory store.
@Suite struct TokenRepositoryTests {
    @Test func bootstrapOnceThenVerifyByHash() async throws {
        let tokens: any TokenRepository = InMemoryStore()
        let dir = DataDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let secret = try #require(try await Tokens.bootstrap(store: tokens, dataDirectory: dir.path, now: 1))
        #expect(try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8) == secret + "\n")
        #expect(try await Tokens.bootstrap(store: tokens, dataDirectory: dir.path, now: 2) == nil)
        #expect(try await tokens.tokens().map(\.scope) == [.admin])
        let verifier = TokenVerifier(store: tokens)
        #expect(try await verifier.verify(secret)?.scope == .admin)
        #expect(try await verifier.verify(Tokens.generate()) == nil)
    }
}
