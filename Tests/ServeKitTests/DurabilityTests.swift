import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ServeKit

/// A real `vertac-serve` process (the binary beside the test bundle).
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let log: String

    /// - Parameter environment: variables added to the test process's own.
    init(dataDir: String, database: String?, port: Int? = nil, arguments: [String] = [], environment: [String: String] = [:]) throws {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let exe = [dir, dir.deletingLastPathComponent()].map { $0.appendingPathComponent("vertac-serve").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let exe else { throw APIError(.internalServerError, "no_binary", "vertac-serve not built beside the tests") }
        self.port = port ?? Int.random(in: 20_000...45_000)
        log = dataDir + ".log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = ["--port", "\(self.port)", "--data-dir", dataDir] + (database.map { ["--database", $0] } ?? []) + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Waits until /api/health answers.
    func ready() async throws {
        for _ in 0..<200 {
            if let (_, r) = try? await URLSession.shared.data(from: URL(string: base + "/api/health")!), (r as? HTTPURLResponse)?.statusCode == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw APIError(.internalServerError, "not_ready", "server did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
    }

    func request(_ method: String, _ path: String, token: String, body: String? = nil) async throws -> (Int, Data) {
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = method
        r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        r.httpBody = body.map { Data($0.utf8) }
        r.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: r)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

@Suite(.serialized) struct DurabilityTests {
    /// Ingests with acknowledgements, kills the server with SIGKILL mid-stream, restarts it,
    /// re-sends the batch that was in flight (same batch id, as an edge does), and checks that
    /// every acknowledged row is in the cycle's export exactly once.
    func killNineKeepsAcknowledgedRows(database: String?) async throws {
        let dir = DataDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        var server = try ServerProcess(dataDir: dir.path, database: database)
        defer { server.terminate() }
        try await server.ready()
        let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let (_, reg) = try await server.request("POST", "/api/live/register", token: token,
                                                body: #"{"device_name": "m", "sensors": [{"name": "a"}, {"name": "b"}]}"#)
        let stream = try #require((try JSONSerialization.jsonObject(with: reg) as? [String: Any])?["stream_id"] as? String)
        let (_, start) = try await server.request("POST", "/api/live/cycle/start?stream_id=\(stream)", token: token)
        let cycle = try #require((try JSONSerialization.jsonObject(with: start) as? [String: Any])?["cycle_id"] as? String)

        func batch(_ k: Int) -> String {
            let rows = (0..<50).map { r in #"{"timestamp": \#(k * 50 + r), "values": [\#(k), \#(r)]}"# }.joined(separator: ",")
            return #"{"stream_id": "\#(stream)", "batch_id": "b\#(k)", "rows": [\#(rows)]}"#
        }
        var acknowledged: Set<Int> = []
        var unacknowledged: [Int] = []
        let killAt = 20
        var next = 0
        // Send until the kill, which lands while a batch is on its way, has cost one batch its ack.
        for k in 0..<2_000 {
            next = k + 1
            if k == killAt {
                // Kill while this batch is on its way.
                let victim = server
                Task.detached { try? await Task.sleep(for: .milliseconds(2)); victim.kill9() }
            }
            do {
                let (status, _) = try await server.request("POST", "/api/live/batch", token: token, body: batch(k))
                if status == 200 { acknowledged.insert(k) } else { unacknowledged.append(k) }
            } catch {
                unacknowledged.append(k)
            }
            if k >= killAt && !unacknowledged.isEmpty { break }
        }
        #expect(acknowledged.count >= killAt && !unacknowledged.isEmpty, "acked \(acknowledged.count), unacked \(unacknowledged)")
        server.kill9()

        // Restart on the same data; the edge re-sends what was not acknowledged, then goes on.
        server = try ServerProcess(dataDir: dir.path, database: database)
        try await server.ready()
        let resend = unacknowledged.sorted() + [next, next + 1]
        for k in resend {
            let (status, _) = try await server.request("POST", "/api/live/batch", token: token, body: batch(k))
            #expect(status == 200, "batch \(k) after restart: \(status)")
            acknowledged.insert(k)
        }
        let (_, csv) = try await server.request("GET", "/api/v1/cycles/\(cycle)/samples.csv", token: token)
        let times = String(decoding: csv, as: UTF8.self).split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }
        let expected = acknowledged.count * 50
        #expect(times.count == expected, "rows in export \(times.count), acknowledged \(expected)")
        #expect(Set(times).count == times.count) // each exactly once
        let (_, status) = try await server.request("GET", "/api/live/stream/\(stream)/status", token: token)
        #expect((try JSONSerialization.jsonObject(with: status) as? [String: Any])?["state"] as? String == "ACTIVE")
    }

    @Test func killNineOnSQLite() async throws {
        try await killNineKeepsAcknowledgedRows(database: nil)
    }

    /// SQLite serves one server: a second `vertac-serve` on the same data directory stops at
    /// once, names the one that holds it, and changes nothing; the first goes on serving. After a
    /// `kill -9` of the first, the lock is gone with it (`killNineOnSQLite` restarts on the same
    /// directory).
    @Test func aSecondServerOnOneSQLiteDirectoryIsRefused() async throws {
        let dir = DataDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let first = try ServerProcess(dataDir: dir.path, database: nil)
        defer { first.terminate() }
        try await first.ready()
        let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let (registered, _) = try await first.request("POST", "/api/live/register", token: token,
                                                      body: #"{"device_name": "m", "sensors": [{"name": "a"}]}"#)
        #expect(registered == 200)

        let second = try ServerProcess(dataDir: dir.path + "/", database: nil)
        defer { second.terminate() }
        // It waits up to 15 s for the first to stop (polled: waitUntilExit would hold one of the
        // test runner's few threads all that time).
        for _ in 0..<400 where second.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!second.process.isRunning)
        #expect(second.process.terminationStatus != 0)
        let log = try String(contentsOfFile: second.log, encoding: .utf8)
        #expect(log.contains("another vertac-serve (pid \(first.process.processIdentifier)) is serving the data directory"), "\(log)")
        #expect(log.contains("--database"))

        #expect(log.contains("waiting up to 15 s for the vertac-serve (pid \(first.process.processIdentifier))"), "\(log)")
        let (status, streams) = try await first.request("GET", "/api/v1/streams", token: token)
        #expect(status == 200)
        #expect(((try JSONSerialization.jsonObject(with: streams) as? [String: Any])?["streams"] as? [Any])?.count == 1)
        #expect(try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == token)

        // A restart right after SIGTERM: the new server waits for the old one to stop, then serves.
        kill(first.process.processIdentifier, SIGTERM)
        let third = try ServerProcess(dataDir: dir.path, database: nil)
        defer { third.terminate() }
        try await third.ready()
        let (again, after) = try await third.request("GET", "/api/v1/streams", token: token)
        #expect(again == 200)
        #expect(((try JSONSerialization.jsonObject(with: after) as? [String: Any])?["streams"] as? [Any])?.count == 1)
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func killNineOnPostgreSQL() async throws {
        // A schema of its own, created and migrated here; the server reaches it through search_path.
        let schema = "k_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgresStore.open(url: postgresURL!, schema: schema)
        let separator = postgresURL!.contains("?") ? "&" : "?"
        try await killNineKeepsAcknowledgedRows(database: postgresURL! + separator + "options=-csearch_path%3D" + schema)
    }
}
