import Inference
import Synchronization

/// A window waiting to be scored: the stream owner it goes back to, the owner's generation
/// when it was cut (a model switch or restore starts a new one, and older windows are dropped),
/// its cycle, the model that scores it, and when the batch holding its last row reached the
/// server (for ``ServerMetrics/stateChange``).
struct QueuedWindow: Sendable {
    let window: PendingWindow
    let owner: StreamOwner
    let generation: Int
    let cycle: String?
    let model: String
    let arrival: UInt64
}

/// The windows of every stream waiting for the next forward pass. Stream owners append after
/// they acknowledge a batch and the pipeline takes them all at each flush; neither waits on the
/// other (a lock held for an append or a swap, never across a forward pass).
final class ScoringQueue: Sendable {
    private let windows = Mutex<[QueuedWindow]>([])

    var count: Int { windows.withLock { $0.count } }

    /// Appends windows; returns how many wait now.
    @discardableResult
    func append(_ new: [QueuedWindow]) -> Int {
        windows.withLock { w in
            w += new
            return w.count
        }
    }

    func takeAll() -> [QueuedWindow] {
        windows.withLock { w in
            let all = w
            w = []
            return all
        }
    }

    /// Drops the windows of one owner (it switched model or was restored).
    func removeAll(of owner: StreamOwner) {
        windows.withLock { w in w.removeAll { $0.owner === owner } }
    }
}
