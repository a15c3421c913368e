import Foundation
import Logging

/// How this server takes part in a cluster (PostgreSQL; `docs/scale-out.md`).
struct ClusterSettings: Sendable {
    /// This server's node id (``NodeIdentity``: kept in its data directory across restarts).
    var nodeID = UUID().uuidString.lowercased()
    /// Where peers reach this server.
    var address = "http://127.0.0.1:8080"
    /// How long a lease lasts without renewal: a killed server's streams move after at most this
    /// plus one round (a round is a third of it).
    var leaseSeconds = 5.0
    /// A node counts for the hashing rule only once it has heartbeaten this long (so that a server
    /// restarting in a loop does not pull streams back and forth); alone, a node counts at once.
    var settleSeconds: Double { 2 * leaseSeconds }
    /// Rows of nodes silent this long are deleted (a killed server never deletes its own).
    var forgetSeconds: Double { max(60, 20 * leaseSeconds) }
}

/// This server's membership of the cluster and the streams it owns: one ``round()`` heartbeats,
/// renews the leases held (dropping at once a stream whose lease was lost), and then takes or
/// hands over streams so that each stream is owned by the node the rendezvous hash chooses
/// among the live, settled nodes.
actor ClusterNode {
    nonisolated let settings: ClusterSettings
    nonisolated let fences: FenceBook
    let store: any Store & ClusterRepository
    let logger: Logger
    private var live: LiveService?

    /// Notices to and from the other servers (PostgreSQL; nil on the in-memory store).
    nonisolated let bus: ClusterBus?

    init(settings: ClusterSettings, fences: FenceBook, store: any Store & ClusterRepository, bus: ClusterBus? = nil, logger: Logger) {
        self.settings = settings
        self.fences = fences
        self.bus = bus
        self.store = store
        self.logger = logger
    }

    nonisolated var id: String { settings.nodeID }

    /// The live service whose owners this node adopts and hands over (set once, at start).
    func attach(_ live: LiveService) { self.live = live }

    /// Joins the cluster (a restart within one lease keeps this node's place and leases).
    func announce() async throws { try await store.announce(node: id, address: settings.address, keepingStartWithin: settings.leaseSeconds) }

    /// Joins at start. A live node with this node's id at another address is a server started
    /// from a copy of this data directory (two servers never share one: ``DataDirectoryLock``):
    /// their fences could not tell them apart, so this one is refused — after one lease, in case
    /// it is this server's own previous process, restarted on another port.
    func join() async throws {
        for attempt in 0..<2 {
            let (now, nodes) = try await store.nodes()
            guard let twin = nodes.first(where: { $0.id == id && $0.address != settings.address && now - $0.heartbeatAt <= settings.leaseSeconds })
            else { break }
            guard attempt == 0 else { throw ClusterJoinError(node: id, address: twin.address) }
            try await Task.sleep(for: .seconds(settings.leaseSeconds))
        }
        try await announce()
    }

    /// Streams being registered here: claimed, not yet served; rounds leave them alone until
    /// the registration is done (``registered(_:)``).
    private var registering: Set<String> = []

    /// Leaves the cluster at a clean stop: the leases end at once, so the streams move now.
    func leave() async {
        do { try await store.leave(node: id) } catch { logger.error("leaving the cluster failed", metadata: ["error": "\(error)"]) }
    }

    /// Takes a stream being registered here (no other node can hold it yet). Until
    /// ``registered(_:)``, rounds do not hand it over (it has no owner to hand over yet).
    func claim(_ stream: String) async throws {
        registering.insert(stream)
        guard let lease = try await store.acquireLease(stream: stream, node: id, seconds: settings.leaseSeconds) else {
            registering.remove(stream)
            throw ServiceError(.busy, "stream \(stream) is being taken by another server; retry shortly", retryAfter: 1)
        }
        fences.hold(lease)
    }

    /// The registration of a claimed stream is done (or failed): rounds may move it from now on.
    func registered(_ stream: String) { registering.remove(stream) }

    /// The address of the node holding a live lease of `stream`, if another live node does.
    func ownerAddress(of stream: String) async throws -> String? {
        guard let lease = try await store.lease(stream: stream), lease.node != id else { return nil }
        let (now, nodes) = try await store.nodes()
        guard lease.expiresAt >= now, let node = nodes.first(where: { $0.id == lease.node }),
              now - node.heartbeatAt <= settings.leaseSeconds else { return nil }
        return node.address
    }

    /// One round: ``keepAlive()``, then ``rebalance()`` (tests; the server runs them in loops of
    /// their own, so that a long handover never holds up a heartbeat).
    func round() async throws {
        try await keepAlive()
        try await rebalance()
    }

    /// Heartbeat and lease renewal. A lease this node had that was not renewed was lost (it
    /// paused past it and another node took the stream): the stream is dropped at once.
    func keepAlive() async throws {
        guard let live else { return }
        if try await !store.heartbeat(node: id) { try await announce() }
        let mine = fences.streams
        let renewed = try await store.renewLeases(node: id, streams: mine, seconds: settings.leaseSeconds)
        let held = Set(renewed.map(\.stream))
        // (A stream handed over meanwhile is no longer in the book: nothing to drop.)
        for stream in mine where !held.contains(stream) && fences.fence(stream) != nil {
            fences.drop(stream)
            await live.drop(stream)
            logger.warning("lease lost: another server owns the stream now", metadata: ["stream": "\(stream)"])
        }
    }

    /// Takes or hands over streams so that each is owned by the node the hash chooses.
    func rebalance() async throws {
        guard let live else { return }
        let (now, nodes) = try await store.nodes()
        let living = nodes.filter { now - $0.heartbeatAt <= settings.leaseSeconds }
        // A node counts once it has been up for the settling time, or at once when it started
        // within that time of the oldest live node (servers started together, or a server alone):
        // once a node counts it keeps counting, so streams move once when it joins, not back and forth.
        let oldest = living.map(\.startedAt).min() ?? now
        let candidates = living.filter { now - $0.startedAt >= settings.settleSeconds || $0.startedAt - oldest < settings.settleSeconds }
            .map(\.id)
        let leases = Dictionary(try await store.leases().map { ($0.stream, $0) }, uniquingKeysWith: { a, _ in a })
        for record in try await store.streams() where !registering.contains(record.id) {
            let stream = record.id
            let chosen = Rendezvous.owner(of: stream, among: candidates)
            let mine = fences.fence(stream) != nil
            if chosen == id, !mine {
                if let l = leases[stream], l.node != id, l.expiresAt >= now { continue } // the holder hands it over first
                guard let lease = try await store.acquireLease(stream: stream, node: id, seconds: settings.leaseSeconds) else { continue }
                fences.hold(lease)
                do {
                    try await store.awaitWriters(stream: stream)
                    try await live.adopt(stream)
                    logger.info("stream taken", metadata: ["stream": "\(stream)", "fence": "\(lease.fence)"])
                } catch {
                    logger.error("taking the stream failed; released", metadata: ["stream": "\(stream)", "error": "\(error)"])
                    fences.drop(stream)
                    try await store.releaseLease(stream: stream, node: id)
                }
            } else if mine, let chosen, chosen != id {
                // Another live node is the stream's choice: finish what is under way, then let it go.
                await live.relinquish(stream)
                fences.drop(stream)
                try await store.releaseLease(stream: stream, node: id)
                logger.info("stream handed over", metadata: ["stream": "\(stream)", "to": "\(chosen)"])
            }
        }
        try await store.forgetNodes(silentFor: settings.forgetSeconds)
    }
}

/// A server whose node id another live server uses: started from a copy of that server's data
/// directory.
struct ClusterJoinError: Error, CustomStringConvertible {
    let node: String
    let address: String
    var description: String {
        "node id \(node) is in use by a live server at \(address): this data directory is a copy of that server's. "
            + "Give each server a data directory of its own (or delete DATA-DIR/node.id here to make this server a new node)."
    }
}
