import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Model
import Simulation
import Testing
import WSClient
import Logging
@testable import ServeKit

/// Three real `vertac-serve` processes on one PostgreSQL schema, every request sent to them in
/// turn as a round-robin balancer would (`docs/scale-out.md`, issue "Scale-out" points 3, 4 and 6):
/// - started together on streams no server holds, each stream gets exactly one owner;
/// - a model activated through one server is the one every stream's owner scores with (2 s);
/// - `kill -9` of one server mid-cycle, then SIGSTOP of another past its leases and SIGCONT,
///   while pump cycles stream in: no acknowledged row lost or stored twice, every window scored
///   exactly once, no maintenance event opened twice, each cycle continues as one cycle.
@Suite(.serialized) struct ClusterFailoverTests {
    static let streams = 6
    static let batchRows = 8
    /// Simulated pump cycles joined into one cycle per stream (a longer cycle to fail over in).
    static let joined = 6

    struct Cluster {
        let servers: [ServerProcess]
        let token: String
        /// Sends to the servers in turn; a server that refuses (503) or cannot be reached is
        /// skipped for the next one, as a balancer's client retries.
        func send(_ method: String, _ path: String, body: String? = nil, turn: inout Int, skip: Set<Int> = []) async throws -> (Int, Data) {
            for _ in 0..<200 {
                let k = turn % servers.count
                turn += 1
                guard !skip.contains(k) else { continue }
                if let (status, data) = try? await servers[k].request(method, path, token: token, body: body), status != 503 { return (status, data) }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw APIError(.internalServerError, "unreachable", "no server took \(method) \(path)")
        }
    }

    static func json(_ data: Data) -> [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func threeServersShareFailOverAndFenceAPausedOne() async throws {
        let db = try await ClusterTests.database()
        let store = try await PostgresStore.open(url: db)
        let model = repositoryRoot + "/models/pump-default.h5"
        // Cycles are scored with the model activated below.
        let window = try ModelFile.read(from: serverModelPath).model.window
        let arguments = ["--lease-seconds", "1", "--model", model]

        // Streams registered through a server that then stops cleanly (its leases end).
        let first = DataDir()
        try FileManager.default.createDirectory(atPath: first.path, withIntermediateDirectories: true)
        let registrar = try ServerProcess(dataDir: first.path, database: db, arguments: arguments)
        try await registrar.ready()
        let token = try String(contentsOfFile: first.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let sensors = MachineSimulator.sensors.map { #"{"name": "\#($0)"}"# }.joined(separator: ",")
        // Node ids chosen here; streams registered until the hash gives each of the three servers
        // some, and each of the two that stay (server 2 is killed) some.
        let nodeIDs = ["node-0", "node-1", "node-2"]
        func covers(_ nodes: [String], _ ids: [String]) -> Bool { Set(ids.compactMap { Rendezvous.owner(of: $0, among: nodes) }).count == nodes.count }
        var ids: [String] = []
        while ids.count < Self.streams || !covers(nodeIDs, ids) || !covers(Array(nodeIDs[0...1]), ids) {
            let (_, reg) = try await registrar.request("POST", "/api/live/register", token: token,
                                                       body: #"{"device_name": "pump-\#(ids.count)", "sensors": [\#(sensors)]}"#)
            ids.append(try #require(Self.json(reg)["stream_id"] as? String))
            try #require(ids.count < 64)
        }
        registrar.terminate()

        // Three servers started together: each stream gets one owner.
        let dirs = (0..<3).map { _ in DataDir() }
        for (d, node) in zip(dirs, nodeIDs) {
            try FileManager.default.createDirectory(atPath: d.path, withIntermediateDirectories: true)
            try Data((node + "\n").utf8).write(to: URL(fileURLWithPath: d.path + "/node.id"))
        }
        let servers = try dirs.map { try ServerProcess(dataDir: $0.path, database: db, arguments: arguments) }
        defer { for s in servers { kill(s.process.processIdentifier, SIGCONT); s.terminate() } }
        for s in servers { try await s.ready() }
        let cluster = Cluster(servers: servers, token: token)
        func served(_ k: Int) async -> Int? {
            guard let (_, data) = try? await servers[k].request("GET", "/api/health", token: token) else { return nil }
            return Self.json(data)["streams"] as? Int
        }
        // The share the rendezvous hash gives each server, once all count (they started together).
        let expected = nodeIDs.map { n in ids.count { Rendezvous.owner(of: $0, among: nodeIDs) == n } }
        var shares: [Int?] = []
        let started = Date()
        for _ in 0..<150 {
            shares = [await served(0), await served(1), await served(2)]
            if shares == expected { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(shares == expected, "served \(shares), the hash's shares \(expected)")
        let leases = try await store.leases()
        let (now, nodes) = try await store.nodes()
        #expect(nodes.count == 3 && Set(leases.map(\.stream)) == Set(ids) && leases.allSatisfy { $0.expiresAt > now })
        #expect(shares.compactMap { $0 }.reduce(0, +) == ids.count, "served: \(shares)")
        #expect(leases.count == ids.count, "one lease per stream")
        print("ClusterFailoverTests: started together, the servers own \(shares.map { $0.map(String.init) ?? "?" }.joined(separator: " / ")) streams "
              + String(format: "(the hash's shares, %.1f s after they answered)", Date().timeIntervalSince(started)))

        // A model uploaded and activated through one server: every stream's owner scores with it
        // (the status of a stream is answered by its owner, forwarded). The issue's 2 s is checked
        // on release servers by scripts/cluster.sh --once; here, in a debug build beside the
        // other tests, the time is printed and 10 s allowed.
        var turn = 0
        let upload = try Data(contentsOf: URL(fileURLWithPath: serverModelPath))
        var r = URLRequest(url: URL(string: servers[0].base + "/api/v1/models?name=candidate")!)
        r.httpMethod = "POST"
        r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        r.httpBody = upload
        let (uploaded, _) = try await URLSession.shared.data(for: r)
        let candidate = try #require(Self.json(uploaded)["id"] as? String)
        let (activated, _) = try await servers[0].request("POST", "/api/v1/models/\(candidate)/activate", token: token)
        #expect(activated == 200)
        let activatedAt = Date()
        var switched: Set<String> = []
        while switched.count < ids.count, Date().timeIntervalSince(activatedAt) < 10 {
            for s in ids where !switched.contains(s) {
                let (_, data) = try await cluster.send("GET", "/api/live/stream/\(s)/status", turn: &turn)
                if (Self.json(data)["scoring"] as? String)?.contains(candidate) == true { switched.insert(s) }
            }
        }
        #expect(switched.count == ids.count, "streams scored with the activated model within 10 s: \(switched.count) of \(ids.count)")
        print("ClusterFailoverTests: every owner scored with the model activated through one server after "
              + String(format: "%.2f s", Date().timeIntervalSince(activatedAt)))

        // Pump cycles streamed in through the servers in turn; kill -9 of one mid-cycle, then
        // SIGSTOP of another past its leases (3 s, lease 1 s) and SIGCONT.
        let sim = MachineSimulator(seed: 11)
        let cycles = ids.indices.map { k in
            let parts = (0..<Self.joined).map { sim.cycle(k * Self.joined + $0) }
            return (values: parts.flatMap(\.values), rows: parts.map(\.rows).reduce(0, +))
        }
        var cycleIDs: [String] = []
        for s in ids {
            let (status, data) = try await cluster.send("POST", "/api/live/cycle/start?stream_id=\(s)", turn: &turn)
            #expect(status == 200)
            cycleIDs.append(try #require(Self.json(data)["cycle_id"] as? String))
        }
        // A review socket on a server that does not own the first stream, following it as the
        // dashboard's live view does: its window scores and signal arrive there too.
        let ownerAddress = try #require(try await store.lease(stream: ids[0])).node
        let watcherIndex = try #require(nodeIDs.firstIndex { $0 != ownerAddress && $0 != nodeIDs[2] })
        let seen = Mutex<[String: Int]>([:])
        let watched = ids[0]
        let watcher = Task {
            let url = "ws://127.0.0.1:\(servers[watcherIndex].port)/api/v1/live?token=\(token)"
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: Logger(label: "test")) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"subscribe": ["\#(watched)"], "samples": false, "signal": true}"#))
                for try await m in inbound.messages(maxSize: 1 << 22) {
                    guard case .text(let text) = m, let type = Self.json(Data(text.utf8))["type"] as? String else { continue }
                    seen.withLock { $0[type, default: 0] += 1 }
                }
            }
        }
        defer { watcher.cancel() }
        try await Task.sleep(for: .seconds(1))
        let batches = cycles.map { ($0.rows + Self.batchRows - 1) / Self.batchRows }
        var sentRows = [Int](repeating: 0, count: ids.count)
        var down: Set<Int> = []
        var stoppedAt: Date?
        for b in 0..<batches.max()! {
            if b == batches.max()! / 4 {
                servers[2].kill9()
                down.insert(2)
            }
            if let t = stoppedAt, Date().timeIntervalSince(t) > 3 {
                kill(servers[1].process.processIdentifier, SIGCONT)
                stoppedAt = nil
            }
            for (k, s) in ids.enumerated() where b < batches[k] {
                let c = cycles[k]
                let rows = (b * Self.batchRows..<min(c.rows, (b + 1) * Self.batchRows)).map { r in
                    #"{"timestamp": \#(1000 + Double(r) * 0.1), "values": [\#((0..<8).map { "\(c.values[r * 8 + $0])" }.joined(separator: ","))]}"#
                }
                let body = #"{"stream_id": "\#(s)", "rows": [\#(rows.joined(separator: ","))]}"#
                // A server stopped by SIGSTOP answers nothing: the client moves on after its timeout,
                // as it would behind a balancer; skipping it keeps the test short.
                let (status, data) = try await cluster.send("POST", "/api/live/batch", body: body, turn: &turn,
                                                            skip: down.union(stoppedAt == nil ? [] : [1]))
                // 409: an earlier attempt was committed but its answer lost; the rows are stored once.
                #expect(status == 200 || (status == 409 && String(decoding: data, as: UTF8.self).contains("timestamp")), "\(status)")
                sentRows[k] += rows.count
            }
            // Paused right after a round of batches, while it may still be scoring them.
            if b == batches.max()! / 2 {
                kill(servers[1].process.processIdentifier, SIGSTOP)
                stoppedAt = Date()
            }
            try await Task.sleep(for: .milliseconds(60))
        }
        if stoppedAt != nil {
            try await Task.sleep(for: .seconds(3))
            kill(servers[1].process.processIdentifier, SIGCONT)
        }
        for s in ids { _ = try await cluster.send("POST", "/api/live/cycle/stop?stream_id=\(s)", turn: &turn, skip: down) }

        // Every window scored: wait until the scores stop growing.
        func scoreCounts() async throws -> [Int] {
            var out: [Int] = []
            for s in ids { out.append(try await store.scores(stream: s, from: 0, to: .infinity).count) }
            return out
        }
        var counts = try await scoreCounts()
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(200))
            let next = try await scoreCounts()
            if next == counts, zip(next, sentRows).allSatisfy({ $0 >= $1 - window + 1 }) { break }
            counts = next
        }
        for (k, s) in ids.enumerated() {
            let rows = try await store.samples(cycle: cycleIDs[k])
            #expect(rows.count == sentRows[k] && Set(rows.map(\.time)).count == rows.count, "\(s): \(rows.count) rows stored of \(sentRows[k]) sent")
            let scores = try await store.scores(stream: s, from: 0, to: .infinity)
            #expect(Set(scores.map(\.time)).count == scores.count, "\(s): a window scored twice")
            #expect(scores.count == sentRows[k] - window + 1, "\(s): \(scores.count) windows scored of \(sentRows[k] - window + 1)")
            #expect(scores.allSatisfy { $0.cycleID == cycleIDs[k] })
            let events = try await store.events(status: nil, stream: s)
            let open = events.filter(\.isOpen)
            #expect(Set(open.map(\.sensor)).count == open.count, "\(s): two open events for one sensor")
            let cycles = try await store.cycles(stream: s)
            #expect(cycles.count == 1 && cycles[0].id == cycleIDs[k], "\(s): the cycle did not continue as one cycle")
        }
        // The paused server, back, takes its share again (the hash over the two live servers),
        // and the shares then stay put (no stream moves back and forth).
        let living = [nodeIDs[0], nodeIDs[1]]
        let share = living.map { n in ids.count { Rendezvous.owner(of: $0, among: living) == n } }
        var now2: [Int?] = []
        for _ in 0..<100 {
            now2 = [await served(0), await served(1)]
            if now2 == share { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(now2 == share, "after SIGCONT the servers own \(now2), the hash's shares \(share)")
        func moves() -> Int {
            (0..<2).map { k in
                let log = (try? String(contentsOfFile: servers[k].log, encoding: .utf8)) ?? ""
                return log.components(separatedBy: "stream handed over").count + log.components(separatedBy: "stream taken").count - 2
            }.reduce(0, +)
        }
        let movesBefore = moves()
        try await Task.sleep(for: .seconds(3))
        #expect(moves() == movesBefore, "streams moved while no server came or went")
        let kinds = seen.withLock { $0 }
        #expect((kinds["window_scores"] ?? 0) > 0 && (kinds["signal"] ?? 0) > 0 && (kinds["cycle_state"] ?? 0) > 0,
                "a review socket on a server that does not own the stream got \(kinds)")
        print("ClusterFailoverTests: a review socket on another server than the stream's owner got \(kinds)")
        let fenced = ((try? String(contentsOfFile: servers[1].log, encoding: .utf8)) ?? "").components(separatedBy: "no longer this server's").count - 1
        print("ClusterFailoverTests: \(sentRows.reduce(0, +)) rows through 3 servers, one killed, one paused past its leases; "
              + "windows scored \(try await scoreCounts()); fenced writes refused on the paused server: \(fenced)")
    }
}
