import Foundation
import Testing
@testable import ServeKit

/// Two servers on one PostgreSQL schema, in this process, their cluster rounds driven by the test
/// (`docs/scale-out.md`): each stream owned by exactly one, a joining server taking its share by
/// handover, and a paused server fenced out once the other took its streams.
@Suite(.serialized) struct ClusterTests {
    static func database() async throws -> String {
        let schema = "cl_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgresStore.open(url: postgresURL!, schema: schema)
        let separator = postgresURL!.contains("?") ? "&" : "?"
        return postgresURL! + separator + "options=-csearch_path%3D" + schema
    }

    /// - Parameter nodeID: the node id (kept in the data directory), so that a test knows the
    ///   hash's choices before the server starts; nil: a new one.
    static func server(_ database: String, lease: Double, nodeID: String? = nil, tokenCacheSeconds: Double = 1) async throws
        -> (parts: ServerParts, dir: DataDir)
    {
        let dir = DataDir()
        if let nodeID {
            try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
            try Data((nodeID + "\n").utf8).write(to: URL(fileURLWithPath: dir.path + "/node.id"))
        }
        var s = settings(dir)
        s.databaseURL = database
        s.leaseSeconds = lease
        s.tokenCacheSeconds = tokenCacheSeconds
        s.advertiseAddress = "http://127.0.0.1:\(Int.random(in: 20_000...45_000))"
        return (try await makeServerParts(s, logger: .init(label: "test")), dir)
    }

    static func batch(_ stream: String, _ t: Double) -> String {
        #"{"stream_id": "\#(stream)", "rows": [{"timestamp": \#(t), "values": [1, 2]}]}"#
    }

    /// Registers streams on `server` until there are at least `count` and the hash over `nodes`
    /// gives each node at least one (stream ids are random: a few streams may all hash to one).
    static func register(on server: ServerParts, atLeast count: Int, split nodes: [String]) async throws -> [String] {
        var streams: [String] = []
        while streams.count < count || Set(streams.compactMap { Rendezvous.owner(of: $0, among: nodes) }).count < nodes.count {
            let k = streams.count
            streams.append(try await server.live.register(json: #"{"device_name": "m\#(k)", "sensors": [{"name": "x"}, {"name": "y"}]}"#).streamID)
            try #require(streams.count < 64)
        }
        return streams
    }

    /// Runs rounds on every given server until `done` holds (at most 5 s).
    static func rounds(_ servers: [ServerParts], until done: () -> Bool) async throws {
        for _ in 0..<100 where !done() {
            for p in servers { try await p.cluster!.round() }
            if done() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Runs the cluster notices of `servers` (as their ClusterService does) until cancelled.
    static func followNotices(_ servers: [ServerParts]) -> Task<Void, Error> {
        Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for p in servers { group.addTask { try await p.cluster!.bus!.run(receive: p.follow) } }
                try await group.waitForAll()
            }
        }
    }

    /// What `task` returns, or nil (the task cancelled) when it takes longer than `seconds`.
    /// Two servers on a fresh database, a stream registered on the first (its owner), and both
    /// taking up the other's notices until the returned task is cancelled.
    static func twoServersAndAStream() async throws -> (a: ServerParts, b: ServerParts, stream: String, followers: Task<Void, Error>) {
        let db = try await database()
        let (a, _) = try await server(db, lease: 30)
        let (b, _) = try await server(db, lease: 30)
        let stream = try await a.live.register(json: #"{"device_name": "m", "sensors": [{"name": "x"}, {"name": "y"}]}"#).streamID
        return (a, b, stream, followNotices([a, b]))
    }

    static func within<T: Sendable>(_ seconds: Double, _ task: Task<T?, Never>) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await task.value }
            group.addTask { try await Task.sleep(for: .seconds(seconds)); task.cancel(); return nil }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func eachStreamHasOneOwnerAndAJoiningServerTakesItsShare() async throws {
        let db = try await Self.database()
        let (a, _) = try await Self.server(db, lease: 30, nodeID: "node-a")
        let streams = try await Self.register(on: a, atLeast: 8, split: ["node-a", "node-b"])
        // Alone, the first server owns every stream.
        #expect(Set(a.live.servedStreams) == Set(streams))

        let (b, _) = try await Self.server(db, lease: 30, nodeID: "node-b")
        let nodes = [a.cluster!.id, b.cluster!.id]
        let expected = Dictionary(uniqueKeysWithValues: streams.map { ($0, Rendezvous.owner(of: $0, among: nodes)!) })
        try await Self.rounds([a, b]) {
            Set(a.live.servedStreams) == Set(streams.filter { expected[$0] == a.cluster!.id })
                && Set(b.live.servedStreams) == Set(streams.filter { expected[$0] == b.cluster!.id })
        }
        let servedA = Set(a.live.servedStreams), servedB = Set(b.live.servedStreams)
        #expect(servedA.isDisjoint(with: servedB))
        #expect(servedA.union(servedB) == Set(streams))
        #expect(!servedB.isEmpty, "b serves none of the streams the hash gives it: \(expected)")

        // Each stream's commands work on its owner; the other server answers not_owner naming it.
        for s in streams {
            let (owner, other) = servedA.contains(s) ? (a, b) : (b, a)
            _ = try await owner.live.ingest(json: Self.batch(s, 1))
            do {
                _ = try await other.live.ingest(json: Self.batch(s, 2))
                Issue.record("the non-owner took a batch of \(s)")
            } catch let e as ServiceError {
                #expect(e.code == .notOwner && e.retryAfter == 1)
                #expect(e.message.contains("another server (\(owner.cluster!.settings.address))"), "\(e.message)")
            }
        }
        // A cycle's label goes through the stream's owner too: the other server refuses naming the
        // owner (the HTTP layer forwards it there), the owner stores it.
        let s = streams[0]
        let (owner, other) = servedA.contains(s) ? (a, b) : (b, a)
        _ = try await owner.live.cycleEvent(.start, stream: s, metadata: [:])
        let cycle = try #require(try await owner.store.cycles(stream: s).first)
        do {
            _ = try await other.live.changeCycle(cycle) { $0.label = .normal }
            Issue.record("the non-owner labelled a cycle of \(s)")
        } catch let e as ServiceError {
            #expect(e.code == .notOwner && e.ownerAddress == owner.cluster!.settings.address)
        }
        #expect(try await owner.live.changeCycle(cycle) { $0.label = .normal }?.label == .normal)
        #expect(try await other.store.cycle(cycle.id)?.label == .normal)
        let leases = try await (a.store as! PostgresStore).leases()
        #expect(leases.count == streams.count)
        #expect(leases.allSatisfy { expected[$0.stream] == $0.node })
    }

    /// The review sockets of every server get the state changes of every stream: the owner's
    /// pushes reach the other server's subscribers through PostgreSQL (LISTEN/NOTIFY).
    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func stateChangesReachTheOtherServersSockets() async throws {
        let (a, b, stream, followers) = try await Self.twoServersAndAStream()
        defer { followers.cancel() }
        #expect(a.live.servedStreams == [stream] && b.live.servedStreams.isEmpty)
        let (id, messages, _) = await b.hub.subscribe(streams: nil, events: true, samples: false)
        defer { Task { await b.hub.unsubscribe(id) } }
        // b's listener is up once a notice of a's arrives: send until one does.
        let received = Task<[String]?, Never> {
            var out: [String] = []
            for await m in messages {
                out.append(m)
                if m.contains("\"ACTIVE\"") { break }
            }
            return out
        }
        try await Task.sleep(for: .milliseconds(300))
        let sent = Date()
        _ = try await a.live.cycleEvent(.start, stream: stream, metadata: [:])
        let got = try await Self.within(2, received)
        let messagesAtB = try #require(got, "no cycle change reached b's subscriber within 2 s")
        let change = try #require(messagesAtB.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(change["stream_id"] as? String == stream)
        #expect((change["data"] as? [String: Any])?["to"] as? String == "ACTIVE", "\(change)")
        print("ClusterTests: a cycle change on a reached b's socket after \(String(format: "%.0f", Date().timeIntervalSince(sent) * 1000)) ms")
        let sentLine = a.metrics.exposition().split(separator: "\n").first { $0.hasPrefix("vertac_cluster_notices_sent_total ") }
        #expect(sentLine.flatMap { Double($0.split(separator: " ").last!) }.map { $0 >= 1 } == true, "\(String(describing: sentLine))")
    }

    /// A review socket on one server that follows a stream another server owns gets the stream's
    /// decimated signal (live charts): it tells the owner which streams it follows, and the owner
    /// shares their signal through PostgreSQL.
    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func aFollowedStreamsSignalReachesTheOtherServersSocket() async throws {
        let (a, b, stream, followers) = try await Self.twoServersAndAStream()
        defer { followers.cancel() }
        try await Task.sleep(for: .milliseconds(300))  // both listening
        let (id, messages, _) = await b.hub.subscribe(streams: [], samples: false)
        defer { Task { await b.hub.unsubscribe(id) } }
        await b.hub.update(id, streams: [stream], events: false, samples: false, signal: true)
        // The owner learns it (its demand for rows turns on), then the rows it commits are shared.
        for _ in 0..<40 where !a.hub.wantsRows { try await Task.sleep(for: .milliseconds(50)) }
        #expect(a.hub.wantsRows, "the owner never heard that b's subscriber follows the stream's signal")
        let received = Task<String?, Never> {
            for await m in messages where m.contains(#""type":"signal""#) { return m }
            return nil
        }
        for k in 0..<5 {
            _ = try await a.live.ingest(json: Self.batch(stream, Double(k + 1)))
            try await Task.sleep(for: .milliseconds(60))
        }
        let got = try await Self.within(2, received)
        let signal = try #require(got, "no signal of a's stream reached b's subscriber within 2 s")
        #expect(signal.contains(stream))
    }

    /// A token revoked through one server is refused by the others at once: they forget their
    /// cached lookups on the notice (here cached for a minute, so only the notice can do it).
    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func aTokenRevokedOnOneServerIsRefusedByTheOthers() async throws {
        let db = try await Self.database()
        let (a, _) = try await Self.server(db, lease: 30, tokenCacheSeconds: 60)
        let (b, _) = try await Self.server(db, lease: 30, tokenCacheSeconds: 60)
        let followers = Self.followNotices([a, b])
        defer { followers.cancel() }
        let (secret, record) = try await Tokens.create(in: a.store, scope: .ingest, name: "edge", now: 0)
        #expect(try await b.verifier.verify(secret)?.isRevoked == false)
        try await Task.sleep(for: .milliseconds(300))  // both listening
        // What DELETE /api/v1/tokens/{id} does on a.
        _ = try await a.store.revokeToken(id: record.id, at: 1)
        await a.verifier.forgetAll()
        a.cluster?.bus?.send(.tokens)
        var refused = false
        for _ in 0..<100 where !refused {
            refused = try await b.verifier.verify(secret)?.isRevoked == true
            if !refused { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(refused, "b still accepts the token revoked on a")
    }

    /// A server started from a copy of a live server's data directory has that server's node id:
    /// it is refused at start (after one lease), naming the other server's address.
    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func aCopiedDataDirectoryIsRefused() async throws {
        let db = try await Self.database()
        let (a, dirA) = try await Self.server(db, lease: 0.5)
        let copy = DataDir()
        try FileManager.default.createDirectory(atPath: copy.path, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dirA.path + "/node.id", toPath: copy.path + "/node.id")
        let beat = Task {
            while !Task.isCancelled {
                try? await a.cluster!.keepAlive()
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { beat.cancel() }
        var s = settings(copy)
        (s.databaseURL, s.leaseSeconds, s.advertiseAddress) = (db, 0.5, "http://127.0.0.1:1")
        do {
            _ = try await makeServerParts(s, logger: .init(label: "test"))
            Issue.record("a server with a copied node id joined")
        } catch let e as ClusterJoinError {
            #expect(e.address == a.cluster!.settings.address && e.description.contains("copy"))
        }
    }

    /// A server paused past its leases (no rounds, as a stopped process) loses its streams to the
    /// other; what it still tries to write for them is refused whole, and its next round drops them.
    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func aPausedServerIsFencedOutAndItsStreamsMove() async throws {
        let db = try await Self.database()
        let (a, _) = try await Self.server(db, lease: 0.6, nodeID: "node-a")
        let (b, _) = try await Self.server(db, lease: 0.6, nodeID: "node-b")
        let streams = try await Self.register(on: a, atLeast: 6, split: ["node-a", "node-b"])
        try await Self.rounds([a, b]) { Set(a.live.servedStreams).union(b.live.servedStreams) == Set(streams) && !b.live.servedStreams.isEmpty
            && !a.live.servedStreams.isEmpty }
        let pausedStreams = a.live.servedStreams
        #expect(!pausedStreams.isEmpty)
        let victim = try #require(pausedStreams.first)
        _ = try await a.live.ingest(json: Self.batch(victim, 1))

        // a pauses; b alone runs rounds until it serves every stream.
        try await Self.rounds([b]) { Set(b.live.servedStreams) == Set(streams) }
        #expect(Set(b.live.servedStreams) == Set(streams))
        // a wakes up and writes with its old fence: refused, nothing stored.
        await #expect(throws: FenceRefused.self) { _ = try await a.live.ingest(json: Self.batch(victim, 2)) }
        #expect(try await b.store.samples(stream: victim, from: 0, to: 10).map(\.time) == [1])
        // b goes on with the stream.
        _ = try await b.live.ingest(json: Self.batch(victim, 2))
        #expect(try await b.store.samples(stream: victim, from: 0, to: 10).map(\.time) == [1, 2])
        // a's next round finds its leases lost and stops serving those streams.
        try await a.cluster!.round()
        #expect(Set(a.live.servedStreams).isDisjoint(with: pausedStreams))
    }
}
