import Foundation

/// What one connection may hold of the server, and how many may be open at once.
struct ConnectionLimits: Sendable {
    /// Connections open at once; more are answered 503 and closed. Kept below the open-file
    /// limit so that the store and the model files always have descriptors left.
    var maxConnections = 4_096
    /// Time from a connection's opening to the end of its first request head.
    var headerTimeout: Duration = .seconds(10)
    /// Largest request head (request line and headers); 431 beyond.
    var maxHeaderBytes = 64 << 10
    /// An HTTP connection with no request for this long is closed.
    var idleTimeout: Duration = .seconds(60)
    /// WebSockets are pinged this often; one that does not answer is closed.
    var webSocketPing: Duration = .seconds(30)
    init() {}

    /// Descriptors kept back from connections for the store, files and the model checker.
    static let reservedDescriptors = 256

    /// Raises the soft open-file limit towards the hard one (to at most `wanted`), and returns
    /// a connection cap that fits under the limit in force.
    static func raiseDescriptorLimit(wanted: Int = 65_536) -> Int {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 else { return 1_024 - reservedDescriptors }
        let target = min(rlim_t(wanted), rl.rlim_max)
        if rl.rlim_cur < target {
            var raised = rl
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { rl = raised }
        }
        return max(64, Int(min(rl.rlim_cur, rlim_t(Int.max))) - reservedDescriptors)
    }
}

/// Counts open connections against the cap.
final class ConnectionGate: @unchecked Sendable {
    private let lock = NSLock()
    private var open = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes a place, or answers false when every place is taken.
    func enter() -> Bool {
        lock.withLock {
            guard open < limit else { return false }
            open += 1
            return true
        }
    }

    func leave() { lock.withLock { open -= 1 } }

    var count: Int { lock.withLock { open } }
}
