import EdgeKit
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ServeKit

/// Two real `vertac-serve` processes on one PostgreSQL schema (`docs/scale-out.md`): they share
/// the streams, a request for the other's stream is forwarded to it, and after `kill -9` of one
/// the other owns every stream within the lease and a round.
@Suite(.serialized) struct ClusterProcessTests {
    static func served(_ server: ServerProcess) async throws -> Int {
        let (data, _) = try await URLSession.shared.data(from: URL(string: server.base + "/api/health")!)
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["streams"] as? Int)
    }

    /// Status and the X-VerTac-Served-By header (set when the answer came from another server).
    static func post(_ server: ServerProcess, _ path: String, token: String, body: String) async throws -> (Int, String?) {
        var r = URLRequest(url: URL(string: server.base + path)!)
        r.httpMethod = "POST"
        r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        r.httpBody = Data(body.utf8)
        let (_, response) = try await URLSession.shared.data(for: r)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "X-VerTac-Served-By"))
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func killNineMovesTheStreamsToTheOtherServer() async throws {
        let db = try await ClusterTests.database()
        let (dirA, dirB) = (DataDir(), DataDir())
        // Node ids chosen here, so that the streams registered below split between the two.
        for (d, node) in [(dirA, "node-a"), (dirB, "node-b")] {
            try FileManager.default.createDirectory(atPath: d.path, withIntermediateDirectories: true)
            try Data((node + "\n").utf8).write(to: URL(fileURLWithPath: d.path + "/node.id"))
        }
        let a = try ServerProcess(dataDir: dirA.path, database: db, arguments: ["--lease-seconds", "1"])
        defer { a.terminate() }
        try await a.ready()
        let token = try String(contentsOfFile: dirA.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // At least 6 streams, and as many as it takes for the hash to give each server one.
        var streams: [String] = []
        while streams.count < 6 || Set(streams.compactMap { Rendezvous.owner(of: $0, among: ["node-a", "node-b"]) }).count < 2 {
            let (_, reg) = try await a.request("POST", "/api/live/register", token: token,
                                               body: #"{"device_name": "m\#(streams.count)", "sensors": [{"name": "x"}]}"#)
            streams.append(try #require((try JSONSerialization.jsonObject(with: reg) as? [String: Any])?["stream_id"] as? String))
            try #require(streams.count < 64)
        }
        let n = streams.count
        #expect(try await Self.served(a) == n)

        let b = try ServerProcess(dataDir: dirB.path, database: db, arguments: ["--lease-seconds", "1"])
        defer { b.terminate() }
        try await b.ready()
        // b takes its share by handover (a round is a third of the lease).
        var shares = (0, 0)
        for _ in 0..<100 {
            shares = (try await Self.served(a), try await Self.served(b))
            if shares.1 > 0, shares.0 + shares.1 == n { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(shares.1 > 0 && shares.0 + shares.1 == n, "\(shares)")
        if !(shares.1 > 0 && shares.0 + shares.1 == n) {
            for s in [a, b] { print("== \(s.log)\n" + ((try? String(contentsOfFile: s.log, encoding: .utf8)) ?? "")) }
        }

        // Any request may reach either server: the one that does not own the stream forwards it to
        // the owner, whose answer comes back (marked with the owner's address). Each batch is
        // stored once, by the owner: the same batch sent again through the other server is refused
        // as a timestamp going backwards.
        var onB: [String] = []
        for s in streams {
            let body = #"{"stream_id": "\#(s)", "rows": [{"timestamp": 1, "values": [1]}]}"#
            let (atB, forwardedB) = try await Self.post(b, "/api/live/batch", token: token, body: body)
            #expect(atB == 200, "\(s) through b: \(atB)")
            let (again, forwardedA) = try await Self.post(a, "/api/live/batch", token: token, body: body)
            #expect(again == 409, "\(s) again through a: \(again)")
            // Exactly one of the two requests was forwarded.
            #expect((forwardedB == nil) != (forwardedA == nil), "\(s): \(String(describing: forwardedB)) \(String(describing: forwardedA))")
            if forwardedB == nil { onB.append(s) }
        }
        #expect(!onB.isEmpty && onB.count < streams.count)

        // A stream's socket opened on the server that does not own the stream is relayed to the
        // owner: an edge streams a cycle over it, every row acknowledged and stored once.
        let onA = try #require(streams.first { !onB.contains($0) })
        let bufferDir = DataDir()
        try FileManager.default.createDirectory(atPath: bufferDir.path, withIntermediateDirectories: true)
        let buffer = try EdgeBuffer(path: bufferDir.path + "/edge.sqlite")
        let uploader = Uploader(server: URL(string: b.base + "/")!, token: token, buffer: buffer, minDelay: 0.05, maxDelay: 0.5)
        let recorder = try Recorder(buffer: buffer, stream: onA, batchRows: 10, batchSeconds: 1)
        try recorder.event("start")
        for r in 0..<100 { try recorder.row(time: 10 + Double(r) * 0.1, values: [Float(r)]) }
        try recorder.event("stop")
        #expect(try await uploader.drainOverWebSocket(stream: onA), "the socket on the non-owner was not usable")
        #expect(buffer.count == 0 && buffer.deadCount == 0)
        let (_, listed) = try await a.request("GET", "/api/v1/streams/\(onA)/cycles", token: token)
        let cycle = try #require(((try JSONSerialization.jsonObject(with: listed) as? [String: Any])?["cycles"] as? [[String: Any]])?.first)
        #expect(cycle["rows"] as? Int == 100, "\(cycle)")

        // kill -9 of b: a owns every stream again within the lease and a round (issue: 10 s).
        let killed = Date()
        b.kill9()
        var moved: TimeInterval?
        for _ in 0..<200 {
            if try await Self.served(a) == n { moved = Date().timeIntervalSince(killed); break }
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
