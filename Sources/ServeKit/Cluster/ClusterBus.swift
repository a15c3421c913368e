import Foundation
import Logging
import Synchronization

/// Notices between the servers of a cluster, through PostgreSQL's LISTEN/NOTIFY
/// (`docs/scale-out.md`): a model activated or rolled back through one server is taken up by all;
/// the state changes, reports and events of each stream, pushed by its owner, reach the review
/// sockets of every server.
///
/// Sending never waits for the database: notices are queued (at most ``maxQueued``) and sent in
/// batches by ``run(receive:)``, which also listens on a connection of its own (a thread of its
/// own, blocked on the socket) and hands the other servers' notices to `receive`. A lost
/// listening connection is opened again; `receive` then gets ``Notice/resync``, since notices
/// sent meanwhile are lost.
final class ClusterBus: Sendable {
    enum Notice: Sendable, Equatable {
        /// Models were activated or rolled back: read the assignments again.
        case models
        /// A push of a stream this server does not own, encoded for review sockets and for
        /// VerTac's legacy socket; `event` as ``Push/isEvent``; `signal`: a decimated signal, for
        /// the subscribers that follow the stream's signal only.
        case push(stream: String, review: String, legacy: String?, event: Bool, signal: Bool = false)
        /// Streams the sender's review subscribers follow one by one (their window scores wanted),
        /// and among them those whose decimated signal they want: the owners share those pushes
        /// for a while (``LiveHub/remoteWatchSeconds``).
        case watch(streams: [String], signal: [String])
        /// A token was revoked: forget cached token lookups.
        case tokens
        /// The listening connection was lost and opened again: notices may have been missed.
        case resync
    }

    /// A notice as sent: the sender, so that a server skips its own.
    private struct Wire: Codable {
        var n: String
        var k: String
        var s: String?
        var r: String?
        var l: String?
        var e: Bool?
        var g: Bool?
        var w: [String]?
        var q: [String]?
    }

    /// PostgreSQL refuses payloads of 8,000 bytes or more.
    static let maxPayloadBytes = 7_999
    static let maxQueued = 10_000

    let node: String
    private let store: PostgresStore
    private let logger: Logger
    private let metrics: ServerMetrics
    /// Notices waiting to be sent, and the sender's wake-up call.
    private let pending = Mutex<[String]>([])
    private let wake: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation
    private let stopped = Atomic<Bool>(false)
    private let lastTooLarge = Mutex<ContinuousClock.Instant?>(nil)
    /// Set when a notice from another server was dropped (this server fell behind): the next one
    /// handled is followed by ``Notice/resync``.
    private let missed = Atomic<Bool>(false)

    init(node: String, store: PostgresStore, metrics: ServerMetrics, logger: Logger) {
        self.node = node
        self.store = store
        self.metrics = metrics
        self.logger = logger
        (wake, wakeUp) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Sends a token notice at once from outside a server (`vertac-serve token revoke`): the
    /// servers on this database forget their cached token lookups.
    static func announceTokens(on store: PostgresStore) async throws {
        let data = try JSONEncoder().encode(Wire(n: "vertac-serve token", k: "tokens"))
        try await store.notify(channel: try await store.noticeChannel(), payloads: [String(decoding: data, as: UTF8.self)])
    }

    /// Queues a notice for the other servers (dropped, and counted, when it is too large or the
    /// queue is full).
    func send(_ notice: Notice) {
        var w = Wire(n: node, k: "")
        switch notice {
        case .models: w.k = "models"
        case .tokens: w.k = "tokens"
        case .resync: return
        case .push(let stream, let review, let legacy, let event, let signal):
            (w.k, w.s, w.r, w.l, w.e, w.g) = ("push", stream, review, legacy, event, signal ? true : nil)
        case .watch(let streams, let signal):
            // At most 80 stream ids (36 characters each, in two lists) per notice, to stay within
            // a payload.
            guard streams.count <= 80 else {
                for start in Swift.stride(from: 0, to: streams.count, by: 80) {
                    let part = Array(streams[start..<min(streams.count, start + 80)])
                    send(.watch(streams: part, signal: signal.filter(part.contains)))
                }
                return
            }
            (w.k, w.w, w.q) = ("watch", streams, signal)
        }
        guard let data = try? JSONEncoder().encode(w), data.count <= Self.maxPayloadBytes else {
            metrics.clusterNoticesDropped.increment()
            // At most one warning a minute: a stream whose pushes are all too large would
            // otherwise log each of them.
            let now = ContinuousClock.now
            let warn = lastTooLarge.withLock { last in
                guard last.map({ now - $0 > .seconds(60) }) ?? true else { return false }
                last = now
                return true
            }
            if warn { logger.warning("cluster notice too large to send (counted in vertac_cluster_notices_dropped_total)", metadata: ["kind": "\(w.k)", "stream": "\(w.s ?? "")"]) }
            return
        }
        let queued = pending.withLock { p in
            guard p.count < Self.maxQueued else { return false }
            p.append(String(decoding: data, as: UTF8.self))
            return true
        }
        guard queued else { return metrics.clusterNoticesDropped.increment() }
        wakeUp.yield()
    }

    /// Sends the queued notices and hands the other servers' to `receive`, in order, until the
    /// task is cancelled.
    func run(receive: @escaping @Sendable (Notice) async -> Void) async throws {
        let channel = try await store.noticeChannel()
        let (incoming, delivered) = AsyncStream<Notice>.makeStream(bufferingPolicy: .bufferingOldest(Self.maxQueued))
        stopped.store(false, ordering: .relaxed)
        let listener = Thread { [self] in listen(channel: channel, into: delivered) }
        listener.name = "vertac-cluster-listen"
        listener.start()
        defer { stopped.store(true, ordering: .relaxed) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in try await sendQueued(channel: channel) }
            group.addTask { [self] in
                for await notice in incoming {
                    metrics.clusterNoticesReceived.increment()
                    await receive(notice)
                    if missed.exchange(false, ordering: .relaxed) { await receive(.resync) }
                }
            }
            defer { group.cancelAll() }
            try await withTaskCancellationHandler {
                try await group.next()
            } onCancel: { [self] in
                stopped.store(true, ordering: .relaxed)
                wakeUp.finish()
                delivered.finish()
            }
        }
    }

    /// Sends what is queued, at most 500 notices per statement, whenever notices were queued.
    private func sendQueued(channel: String) async throws {
        for await _ in wake {
            while true {
                let batch = pending.withLock { p in
                    let b = Array(p.prefix(500))
                    p.removeFirst(b.count)
                    return b
                }
                guard !batch.isEmpty else { break }
                do {
                    try await store.notify(channel: channel, payloads: batch)
                    metrics.clusterNoticesSent.increment(by: Int64(batch.count))
                } catch {
                    // Model changes and revocations are sent again (the other servers would
                    // otherwise keep the old model, or a revoked token for a second); pushes are
                    // dropped, counted.
                    let models = batch.filter { $0.contains(#""k":"models""#) || $0.contains(#""k":"tokens""#) }
                    metrics.clusterNoticesDropped.increment(by: Int64(batch.count - models.count))
                    logger.warning("cluster notices not sent", metadata: ["count": "\(batch.count)", "error": "\(error)"])
                    if !models.isEmpty {
                        pending.withLock { $0.insert(models[0], at: 0) }
                        try await Task.sleep(for: .seconds(1))
                    }
                }
            }
        }
    }

    /// The listening thread: LISTEN on its own connection, blocked on its socket; opens it again
    /// (and announces ``Notice/resync``) when it is lost.
    private func listen(channel: String, into delivered: AsyncStream<Notice>.Continuation) {
        var backoff = 0.25
        while !stopped.load(ordering: .relaxed) {
            do {
                let c = try store.listener(channel: channel)
                // Notices sent before it listened (or while it was reconnecting) are lost: the
                // models are read again now, also at the first start (an activation between the
                // server's own reading and this LISTEN).
                delivered.yield(.resync)
                backoff = 0.25
                var quiet = 0
                while !stopped.load(ordering: .relaxed) {
                    let notifications = try c.notifications(waitingUpTo: 250)
                    for n in notifications {
                        guard let w = try? JSONDecoder().decode(Wire.self, from: Data(n.payload.utf8)) else { continue }
                        let result: AsyncStream<Notice>.Continuation.YieldResult
                        switch w.k {
                        // Its own model notices too: the server then reads the assignments as
                        // stored after its own change, whatever it read in between.
                        case "models": result = delivered.yield(.models)
                        case "tokens": result = delivered.yield(.tokens)
                        case "push":
                            guard w.n != node, let s = w.s, let r = w.r else { continue }
                            result = delivered.yield(.push(stream: s, review: r, legacy: w.l, event: w.e ?? false, signal: w.g ?? false))
                        case "watch":
                            guard w.n != node else { continue }
                            result = delivered.yield(.watch(streams: w.w ?? [], signal: w.q ?? []))
                        default: continue
                        }
                        if case .dropped = result {
                            metrics.clusterNoticesDropped.increment()
                            missed.store(true, ordering: .relaxed)
                        }
                    }
                    // A connection that died without a word is found by a query now and then.
                    quiet = notifications.isEmpty ? quiet + 1 : 0
                    if quiet >= 40 {
                        try c.query("SELECT 1")
                        quiet = 0
                    }
                }
            } catch {
                guard !stopped.load(ordering: .relaxed) else { break }
                logger.warning("cluster notices: listening connection lost; opening it again", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }
}
