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
    /// One element whenever windows were appended (at most one waits): the scoring service
    /// flushes as soon as there is work, and whatever arrives during a flush goes in the next.
    let arrivals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init() {
        (arrivals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var count: Int { windows.withLock { $0.count } }

    /// Appends windows; returns how many wait now.
    @discardableResult
    func append(_ new: [QueuedWindow]) -> Int {
        guard !new.isEmpty else { return count }
        let n = windows.withLock { w in
            w += new
            return w.count
        }
        signal.yield()
        return n
    }

    /// Takes the oldest windows, at most `limit` (each stream's in the order they were cut).
    func take(upTo limit: Int) -> [QueuedWindow] {
        windows.withLock { w in
            guard w.count > limit else {
                defer { w = [] }
                return w
            }
            let first = Array(w[..<limit])
            w.removeFirst(limit)
            return first
        }
    }

    /// Drops the windows of one owner (it switched model or was restored).
    func removeAll(of owner: StreamOwner) {
        windows.withLock { w in w.removeAll { $0.owner === owner } }
    }
}

/// One transaction for what a flush's scored windows caused on every stream (scores, sensor
/// states, transitions, events), instead of one per stream: the store's writer is shared with
/// ingest, and twenty small transactions per flush kept acknowledgements waiting.
///
/// Every owner given results adds its part (or nil) exactly once and goes on with its stream;
/// the last part in starts the transaction. Pushes wait for ``result()``; when the transaction
/// fails, each owner commits its own part alone, so that one stream's failure still costs no
/// other stream its scores. The pipeline waits for all of it before the next flush commits.
final class ScoringCommit: Sendable {
    struct Part: Sendable {
        var scores: [ScoreRecord]
        var states: [SensorStateRecord]
        var transitions: [TransitionRecord]
        var events: [MaintenanceEvent]
    }

    private struct State {
        var parts: [Part] = []
        var remaining: Int
        var result: Bool?
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private let state: Mutex<State>
    private let store: any Store

    init(owners: Int, store: any Store) {
        state = Mutex(State(remaining: owners, result: owners == 0 ? true : nil))
        self.store = store
    }

    /// Adds one owner's part (nil: nothing to write); the last one in starts the transaction.
    func add(_ part: Part?) {
        let all: [Part]? = state.withLock { s in
            if let part { s.parts.append(part) }
            s.remaining -= 1
            return s.remaining == 0 ? s.parts : nil
        }
        guard let all else { return }
        let store = store
        Task {
            var ok = true
            if !all.isEmpty {
                do {
                    try await store.commitScoring(scores: all.flatMap(\.scores), states: all.flatMap(\.states),
                                                  transitions: all.flatMap(\.transitions), events: all.flatMap(\.events))
                } catch { ok = false }
            }
            let waiters = self.state.withLock { s in
                s.result = ok
                let w = s.waiters
                s.waiters = []
                return w
            }
            for w in waiters { w.resume(returning: ok) }
        }
    }

    /// Waits for the transaction: whether it committed (true when nobody had anything to write).
    func result() async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let known: Bool? = state.withLock { s in
                if let r = s.result { return r }
                s.waiters.append(c)
                return nil
            }
            if let known { c.resume(returning: known) }
        }
    }
}
