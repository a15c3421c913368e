import Foundation
import Inference
import Testing
@testable import ServeKit

/// The cluster's part of the storage contract (`docs/scale-out.md`): membership, leases and the
/// fencing of a former owner's writes — in memory always, on PostgreSQL when configured (SQLite
/// serves one server and has none).
@Suite struct ClusterStoreTests {
    enum Kind: String, CaseIterable, Sendable {
        case memory, postgres
        static var available: [Kind] { postgresURL == nil ? [.memory] : [.memory, .postgres] }
    }

    /// `servers` views of one fresh store, as that many servers see it, each with its own fence
    /// book (in memory: one store, so the views share it; PostgreSQL: a store per server on one schema).
    static func cluster(_ kind: Kind, servers: Int) async throws -> [(store: any Store & ClusterRepository, fences: FenceBook)] {
        switch kind {
        case .memory:
            let book = FenceBook()
            let store = InMemoryStore(fences: book)
            return Array(repeating: (store, book), count: servers)
        case .postgres:
            let schema = "c_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            var views: [(store: any Store & ClusterRepository, fences: FenceBook)] = []
            for _ in 0..<servers {
                let book = FenceBook()
                views.append((try await PostgresStore.open(url: postgresURL!, schema: schema, connections: 2, fences: book), book))
            }
            return views
        }
    }

    @Test(arguments: Kind.available)
    func nodesAnnounceHeartbeatAndLeave(kind: Kind) async throws {
        let store = try await Self.cluster(kind, servers: 1)[0].store
        try await store.announce(node: "a", address: "http://127.0.0.1:1", keepingStartWithin: 60)
        try await store.announce(node: "b", address: "http://127.0.0.1:2", keepingStartWithin: 60)
        let before = try await store.nodes()
        #expect(before.nodes.map(\.id) == ["a", "b"])
        #expect(before.nodes.allSatisfy { $0.heartbeatAt <= before.now && $0.startedAt == $0.heartbeatAt })
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await store.heartbeat(node: "a"))
        let after = try await store.nodes()
        let a = try #require(after.nodes.first { $0.id == "a" }), b = try #require(after.nodes.first { $0.id == "b" })
        #expect(a.heartbeatAt > a.startedAt)
        #expect(b.heartbeatAt == b.startedAt)
        // Announced again (a restart): within the window it keeps its start, after it starts anew.
        try await store.announce(node: "a", address: "http://127.0.0.1:3", keepingStartWithin: 60)
        let again = try #require(try await store.nodes().nodes.first { $0.id == "a" })
        #expect(again.startedAt == a.startedAt && again.address == "http://127.0.0.1:3")
        try await Task.sleep(for: .milliseconds(20))
        try await store.announce(node: "a", address: "http://127.0.0.1:3", keepingStartWithin: 0.01)
        #expect(try #require(try await store.nodes().nodes.first { $0.id == "a" }).startedAt > a.startedAt)

        // Leaving ends the node's leases at once: another takes the stream without waiting.
        #expect(try await store.acquireLease(stream: "s", node: "a", seconds: 60) != nil)
        #expect(try await store.acquireLease(stream: "s", node: "b", seconds: 60) == nil)
        try await store.leave(node: "a")
        #expect(try await store.nodes().nodes.map(\.id) == ["b"])
        #expect(try await store.heartbeat(node: "a") == false)
        #expect(try await store.acquireLease(stream: "s", node: "b", seconds: 60)?.fence == 2)
    }

    /// Three servers race for twenty streams: each stream gets exactly one holder.
    @Test(arguments: Kind.available)
    func concurrentAcquisitionGivesEachStreamOneOwner(kind: Kind) async throws {
        let servers = try await Self.cluster(kind, servers: 3)
        let streams = (0..<20).map { "s\($0)" }
        let granted = try await withThrowingTaskGroup(of: [Lease].self, returning: [Lease].self) { group in
            for (k, server) in servers.enumerated() {
                group.addTask {
                    var mine: [Lease] = []
                    for s in streams.shuffled() {
                        if let l = try await server.store.acquireLease(stream: s, node: "n\(k)", seconds: 60) { mine.append(l) }
                    }
                    return mine
                }
            }
            var all: [Lease] = []
            for try await part in group { all += part }
            return all
        }
        #expect(granted.count == streams.count, "\(granted.map { "\($0.stream)@\($0.node)" })")
        #expect(Set(granted.map(\.stream)) == Set(streams))
        #expect(granted.allSatisfy { $0.fence == 1 })
        let stored = try await servers[0].store.leases()
        #expect(Dictionary(uniqueKeysWithValues: stored.map { ($0.stream, $0.node) })
                == Dictionary(uniqueKeysWithValues: granted.map { ($0.stream, $0.node) }))
    }

    @Test(arguments: Kind.available)
    func aLeaseChangesHandsOnlyWhenItExpiredOrWasReleased(kind: Kind) async throws {
        let store = try await Self.cluster(kind, servers: 1)[0].store
        let first = try #require(try await store.acquireLease(stream: "s", node: "a", seconds: 60))
        #expect(first.fence == 1 && first.node == "a")
        // Acquiring again while it holds is a renewal: the fence stays.
        #expect(try await store.acquireLease(stream: "s", node: "a", seconds: 60)?.fence == 1)
        #expect(try await store.acquireLease(stream: "s", node: "b", seconds: 60) == nil)
        let renewed = try await store.renewLeases(node: "a", streams: ["s"], seconds: 60)
        #expect(renewed.map(\.stream) == ["s"] && renewed[0].fence == 1 && renewed[0].expiresAt >= first.expiresAt)

        // a pauses past its lease (renewed for a last time into the past: its lease has run out):
        // b takes the stream with a higher fence, and a's renewal finds it lost.
        #expect(try await store.renewLeases(node: "a", streams: ["s"], seconds: -1).count == 1)
        let taken = try #require(try await store.acquireLease(stream: "s", node: "b", seconds: 60))
        #expect(taken.fence == 2 && taken.node == "b")
        #expect(try await store.renewLeases(node: "a", streams: ["s"], seconds: 60).isEmpty)
        #expect(try await store.acquireLease(stream: "s", node: "a", seconds: 60) == nil)

        // Released: the next holder does not wait, and its fence is higher still.
        try await store.releaseLease(stream: "s", node: "a") // not a's: changes nothing
        #expect(try await store.acquireLease(stream: "s", node: "a", seconds: 60) == nil)
        try await store.releaseLease(stream: "s", node: "b")
        #expect(try await store.acquireLease(stream: "s", node: "a", seconds: 60)?.fence == 3)
        // An expired lease taken back by its former holder moves the fence on too: what it held
        // in memory may be older than what another holder wrote meanwhile.
        try await store.releaseLease(stream: "s", node: "a")
        #expect(try await store.acquireLease(stream: "s", node: "a", seconds: 60)?.fence == 4)
    }

    /// A former owner paused past its lease writes nothing once another server took the stream:
    /// no rows, no stream progress, no cycle, no scores; the new owner's writes go through.
    @Test(arguments: Kind.available)
    func aFencedFormerOwnerWritesNothing(kind: Kind) async throws {
        let servers = try await Self.cluster(kind, servers: 2)
        let (a, aBook) = servers[0], (b, bBook) = servers[1]
        let stream = StoreContractTests.stream("s1")
        aBook.hold(try #require(try await a.acquireLease(stream: "s1", node: "a", seconds: 60)))
        try await a.saveStream(stream)
        let ack = BatchAck(ackID: "k1", samples: 2, rows: 1)
        try await a.commitBatch(stream: stream, rows: [SampleRow(time: 1, values: [1, 2], cycleID: nil)], batchID: "b1", ack: ack)

        _ = try await a.renewLeases(node: "a", streams: ["s1"], seconds: -1) // a's lease runs out
        let taken = try #require(try await b.acquireLease(stream: "s1", node: "b", seconds: 60))
        // a's book still holds fence 1 (in memory the two views share one store and book, which
        // plays a until b's lease is written into it below).
        let aStore = a
        var later = stream
        later.lastTimestamp = 2
        await #expect(throws: FenceRefused.self) {
            try await aStore.commitBatch(stream: later, rows: [SampleRow(time: 2, values: [3, 4], cycleID: nil)], batchID: "b2",
                                         ack: BatchAck(ackID: "k2", samples: 2, rows: 1))
        }
        await #expect(throws: FenceRefused.self) {
            try await aStore.commitScoring(scores: [ScoreRecord(streamID: "s1", cycleID: nil, time: 1, score: 9, sensorScores: [9, 9])],
                                           states: [], transitions: [], events: [])
        }
        await #expect(throws: FenceRefused.self) { try await aStore.saveStream(later) }
        await #expect(throws: FenceRefused.self) {
            try await aStore.saveCycle(CycleRecord(id: "c1", streamID: "s1", number: 1, state: .active, startedAt: 2))
        }
        #expect(try await b.samples(stream: "s1", from: 0, to: 10).map(\.time) == [1])
        #expect(try await b.acknowledgement(stream: "s1", batchID: "b2") == nil)
        #expect(try await b.stream("s1")?.lastTimestamp == stream.lastTimestamp)
        #expect(try await b.scores(stream: "s1", from: 0, to: 10).isEmpty)
        #expect(try await b.cycles(stream: "s1").isEmpty)

        // The new owner writes.
        bBook.hold(taken)
        try await b.commitBatch(stream: later, rows: [SampleRow(time: 2, values: [3, 4], cycleID: nil)], batchID: "b2",
                                ack: BatchAck(ackID: "k2", samples: 2, rows: 1))
        try await b.commitScoring(scores: [ScoreRecord(streamID: "s1", cycleID: nil, time: 2, score: 1, sensorScores: [1, 1])],
                                  states: [], transitions: [], events: [])
        #expect(try await b.samples(stream: "s1", from: 0, to: 10).map(\.time) == [1, 2])
        #expect(try await b.scores(stream: "s1", from: 0, to: 10).map(\.time) == [2])
    }
}
