import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ServeKit

/// Two real `vertac-serve` processes on one PostgreSQL schema (`docs/scale-out.md`): they share
/// the streams, a request for the other's stream is answered `not_owner`, and after `kill -9` of
/// one the other owns every stream within the lease and a round.
@Suite(.serialized) struct ClusterProcessTests {
    static func served(_ server: ServerProcess) async throws -> Int {
        let (data, _) = try await URLSession.shared.data(from: URL(string: server.base + "/api/health")!)
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["streams"] as? Int)
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func killNineMovesTheStreamsToTheOtherServer() async throws {
        let db = try await ClusterTests.database()
        let (dirA, dirB) = (DataDir(), DataDir())
        for d in [dirA, dirB] { try FileManager.default.createDirectory(atPath: d.path, withIntermediateDirectories: true) }
        let a = try ServerProcess(dataDir: dirA.path, database: db, arguments: ["--lease-seconds", "1"])
        defer { a.terminate() }
        try await a.ready()
        let token = try String(contentsOfFile: dirA.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var streams: [String] = []
        for k in 0..<6 {
            let (_, reg) = try await a.request("POST", "/api/live/register", token: token,
                                               body: #"{"device_name": "m\#(k)", "sensors": [{"name": "x"}]}"#)
            streams.append(try #require((try JSONSerialization.jsonObject(with: reg) as? [String: Any])?["stream_id"] as? String))
        }
        #expect(try await Self.served(a) == 6)

        let b = try ServerProcess(dataDir: dirB.path, database: db, arguments: ["--lease-seconds", "1"])
        defer { b.terminate() }
        try await b.ready()
        // b takes its share by handover (a round is a third of the lease).
        var shares = (0, 0)
        for _ in 0..<100 {
            shares = (try await Self.served(a), try await Self.served(b))
            if shares.1 > 0, shares.0 + shares.1 == 6 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(shares.1 > 0 && shares.0 + shares.1 == 6, "\(shares)")

        // Every stream takes a batch on exactly one of the two; the other answers 503 not_owner.
        var onB: [String] = []
        for s in streams {
            let body = #"{"stream_id": "\#(s)", "rows": [{"timestamp": 1, "values": [1]}]}"#
            let (atA, answerA) = try await a.request("POST", "/api/live/batch", token: token, body: body)
            let (atB, answerB) = try await b.request("POST", "/api/live/batch", token: token, body: body)
            #expect([atA, atB].sorted() == [200, 503], "\(s): a \(atA), b \(atB)")
            let refused = atA == 503 ? answerA : answerB
            #expect(String(decoding: refused, as: UTF8.self).contains("not_owner"))
            if atB == 200 { onB.append(s) }
        }
        #expect(!onB.isEmpty)

        // kill -9 of b: a owns every stream again within the lease and a round (issue: 10 s).
        let killed = Date()
        b.kill9()
        var moved: TimeInterval?
        for _ in 0..<200 {
            if try await Self.served(a) == 6 { moved = Date().timeIntervalSince(killed); break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let seconds = try #require(moved, "a never took b's streams")
        #expect(seconds < 10)
        for s in onB {
            let (status, _) = try await a.request("POST", "/api/live/batch", token: token,
                                                  body: #"{"stream_id": "\#(s)", "rows": [{"timestamp": 2, "values": [2]}]}"#)
            #expect(status == 200, "\(s) after the failover: \(status)")
        }
        print("ClusterProcessTests: b's \(onB.count) streams moved to a \(String(format: "%.2f", seconds)) s after kill -9 (lease 1 s)")
    }
}
