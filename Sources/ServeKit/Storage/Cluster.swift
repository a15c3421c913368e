import Synchronization

/// A server of a cluster, as it announced itself (`docs/scale-out.md`).
struct NodeRecord: Sendable, Equatable {
    let id: String
    /// Where its peers reach it (`http://host:port`).
    let address: String
    /// Seconds since 1970 by the database's clock, as are all cluster times.
    let startedAt: Double
    let heartbeatAt: Double
}

/// A node's right to own a stream until `expiresAt`. `fence` grows with every change of holder:
/// a write made with an older fence is refused (``FenceRefused``).
struct Lease: Sendable, Equatable {
    let stream: String
    let node: String
    let fence: Int64
    let expiresAt: Double
}

/// A write on behalf of a stream's owner that no longer holds the stream: another node took its
/// lease (the fence moved on) or the lease is gone. Nothing of the transaction was kept.
struct FenceRefused: Error, Equatable, CustomStringConvertible {
    let stream: String
    let held: Int64?
    let current: Int64?
    /// As clients see it: `not_owner`, retry shortly.
    var asServiceError: ServiceError { ServiceError(.notOwner, "stream \(stream) changed servers while the command ran; retry shortly", retryAfter: 1) }

    var description: String {
        "stream \(stream) is no longer this server's (fence \(held.map(String.init) ?? "none"), now \(current.map(String.init) ?? "no lease"))"
    }
}

/// The fences of the streams this server owns. When a store has one, every transaction that
/// writes a stream's data first checks the stream's lease against it (and holds the lease row
/// until the commit, so that a takeover waits for a write under way).
final class FenceBook: Sendable {
    private let fences = Mutex<[String: Int64]>([:])
    init() {}
    func fence(_ stream: String) -> Int64? { fences.withLock { $0[stream] } }
    func hold(_ lease: Lease) { fences.withLock { $0[lease.stream] = lease.fence } }
    func drop(_ stream: String) { fences.withLock { $0[stream] = nil } }
    var streams: [String] { fences.withLock { Array($0.keys) } }
}

/// Membership and stream ownership of a cluster of servers on one database (PostgreSQL; the
/// in-memory store for unit tests). SQLite serves one server and has none.
protocol ClusterRepository: Sendable {
    /// The database's clock, seconds since 1970.
    func clusterNow() async throws -> Double
    /// Adds a node, or updates it; its heartbeat is now, and so is its start unless it was heard
    /// from within `seconds` (a restarted server keeps its place).
    func announce(node: String, address: String, keepingStartWithin seconds: Double) async throws
    /// Marks the node alive now; false when its row is gone.
    func heartbeat(node: String) async throws -> Bool
    /// Every announced node, and the database's clock when read.
    func nodes() async throws -> (now: Double, nodes: [NodeRecord])
    /// Removes the node and ends its leases at once (a clean stop).
    func leave(node: String) async throws
    /// Deletes the rows of nodes whose last heartbeat is older than `seconds` (killed servers).
    func forgetNodes(silentFor seconds: Double) async throws
    /// Takes the stream for `node` for `seconds` when its lease is free, expired or already this
    /// node's; every acquisition that is not a renewal of a live lease moves the fence on.
    /// Nil: another node holds a live lease.
    func acquireLease(stream: String, node: String, seconds: Double) async throws -> Lease?
    /// Extends the node's live leases of `streams`; answers those (a lease missing from the answer
    /// was lost). Locks the lease rows in stream order, as fenced writes do.
    func renewLeases(node: String, streams: [String], seconds: Double) async throws -> [Lease]
    /// The lease of one stream, live or not.
    func lease(stream: String) async throws -> Lease?
    /// Ends the node's lease of a stream at once (its fence stays, so the next holder's is higher).
    func releaseLease(stream: String, node: String) async throws
    /// Every lease, live or not.
    func leases() async throws -> [Lease]
    /// Returns once no transaction that passed its fence check under the stream's previous lease
    /// can still commit (a batch holds the stream's row from its fenced update to its commit):
    /// a new owner calls it between taking the lease and reading the stream.
    func awaitWriters(stream: String) async throws
}
