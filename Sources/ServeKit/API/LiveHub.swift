import Foundation
import Inference
import Synchronization

/// Fans server messages (``Push``) out to WebSocket subscribers: `{type, timestamp, stream_id, data}`.
///
/// Each subscriber gets its own buffer, bounded in messages and in bytes: past
/// ``bufferSize`` messages it loses its oldest ones; past ``maxPendingBytes`` it is dropped (its
/// socket closed) rather than holding memory or slowing ingestion.
actor LiveHub: PushSink {
    struct Subscriber {
        /// Streams it follows; nil for all.
        var streams: Set<String>?
        /// Whether it wants maintenance events of every stream.
        var events: Bool
        /// Whether it wants every committed row (`samples`); live charts take `signal` instead.
        var samples = true
        /// Whether it wants the decimated `signal` of the streams it follows.
        var signal = false
        /// VerTac's legacy per-stream socket: VerTac's message names (``Push/legacyType``).
        let legacy: Bool
        let continuation: AsyncStream<String>.Continuation
        let backlog: Backlog
    }

    private var subscribers: [UUID: Subscriber] = [:]
    static let bufferSize = 1_024
    /// Bytes of messages a subscriber may leave unsent before it is dropped.
    static let maxPendingBytes = 4 << 20
    let metrics: ServerMetrics?
    /// In a cluster (`docs/scale-out.md`): state changes, reports and events of the streams this
    /// server owns go to the other servers' subscribers too, and so do the window scores and
    /// decimated signal of the streams the other servers' subscribers follow one by one (they say
    /// which, ``ClusterBus/Notice/watch(streams:signal:)``).
    let bus: ClusterBus?

    init(metrics: ServerMetrics? = nil, bus: ClusterBus? = nil) {
        self.metrics = metrics
        self.bus = bus
    }

    // MARK: Other servers' subscribers (cluster)

    /// How long another server's notice that it follows a stream holds (it repeats it every
    /// ``watchInterval``).
    static let remoteWatchSeconds: Duration = .seconds(6)
    static let watchInterval: Duration = .seconds(2)
    /// Window scores of one stream go to the other servers at most this often (live views draw
    /// about ten a second; the rest would only load the database).
    static let remoteScoresInterval: Duration = .milliseconds(100)
    private var remoteScores: [String: ContinuousClock.Instant] = [:]
    private var remoteSignal: [String: ContinuousClock.Instant] = [:]
    private var lastRemoteScores: [String: ContinuousClock.Instant] = [:]
    private var announcedWatch: (streams: [String], signal: [String]) = ([], [])

    /// Another server's subscribers follow `streams` (and the signal of `signal`).
    func remoteWatch(streams: [String], signal: [String]) {
        let until = ContinuousClock.now + Self.remoteWatchSeconds
        for s in streams { remoteScores[s] = until }
        for s in signal { remoteSignal[s] = until }
        countDemand()
    }

    private func remotelyWatched(_ stream: String, signal: Bool) -> Bool {
        guard let until = (signal ? remoteSignal : remoteScores)[stream] else { return false }
        return until > ContinuousClock.now
    }

    /// The streams this server's subscribers follow one by one, and those whose signal they want.
    private var localWatch: (streams: [String], signal: [String]) {
        var streams = Set<String>(), signal = Set<String>()
        for s in subscribers.values {
            guard let followed = s.streams else { continue }
            streams.formUnion(followed)
            if s.signal { signal.formUnion(followed) }
        }
        return (streams.sorted(), signal.sorted())
    }

    /// Tells the other servers which streams this server's subscribers follow (every
    /// ``watchInterval``, and at once when it changed), and forgets the other servers' notices
    /// that expired.
    func announceWatch(force: Bool = true) {
        guard let bus else { return }
        let now = ContinuousClock.now
        remoteScores = remoteScores.filter { $0.value > now }
        remoteSignal = remoteSignal.filter { $0.value > now }
        lastRemoteScores = lastRemoteScores.filter { remoteScores[$0.key] != nil }
        countDemand()
        let watch = localWatch
        guard force || watch != announcedWatch else { return }
        announcedWatch = watch
        if !watch.streams.isEmpty { bus.send(.watch(streams: watch.streams, signal: watch.signal)) }
    }

    /// Shares a push of a stream this server owns with the other servers, when their subscribers
    /// take it.
    private func share(_ push: Push, stream: String) {
        guard let bus else { return }
        if case .windowScores = push {
            guard remotelyWatched(stream, signal: false) else { return }
            let now = ContinuousClock.now
            if let last = lastRemoteScores[stream], now - last < Self.remoteScoresInterval { return }
            lastRemoteScores[stream] = now
        } else if case .signal = push {
            guard remotelyWatched(stream, signal: true) else { return }
        } else {
            guard push.isShared else { return }
        }
        let time = Date().timeIntervalSince1970
        guard let review = push.json(stream: stream, time: time, legacy: false) else { return }
        // A decimated signal too large for one notice goes as several, each with part of the points.
        if case .signal(let update) = push, review.utf8.count > Self.maxSharedBytes, update.points.count > 1 {
            let half = update.points.count / 2
            for part in [update.points[..<half], update.points[half...]] {
                share(.signal(SignalUpdate(sensors: update.sensors, bucket: update.bucket, cycleID: update.cycleID, points: Array(part))),
                      stream: stream)
            }
            return
        }
        var signal = false
        if case .signal = push { signal = true }
        // No legacy form: VerTac's per-stream socket on a server that does not own the stream is
        // relayed to the owner (``SocketForwarding``), so no other server has legacy subscribers.
        bus.send(.push(stream: stream, review: review, legacy: nil, event: push.isEvent, signal: signal))
    }

    /// The largest encoded push shared as one notice (the notice escapes it again, and
    /// PostgreSQL takes at most 7,999 bytes).
    static let maxSharedBytes = 5_500

    /// How many subscribers take every committed row (`samples`) or the decimated `signal`: when
    /// none does, ingest does not build those pushes (read without a hop to this actor).
    private nonisolated let demand = Mutex((samples: 0, signal: 0))

    /// Whether any subscriber takes a stream's rows, as `samples` or as `signal`.
    nonisolated var wantsRows: Bool { demand.withLock { $0.samples + $0.signal > 0 } }

    private func countDemand() {
        let samples = subscribers.values.count { $0.samples }
        let now = ContinuousClock.now
        let signal = subscribers.values.count { $0.signal } + remoteSignal.values.count { $0 > now }
        demand.withLock { $0 = (samples, signal) }
        // Nobody follows a signal: rows are no longer handed over, so forget half-filled buckets.
        if signal == 0 { decimators = [:] }
    }

    var count: Int { subscribers.count }

    /// A new subscriber following `streams` (nil: every stream).
    ///
    /// - Returns: its id, its messages, and its backlog: the reader calls `sent` after writing each
    ///   message; `dropped` tells it, once the stream ends, that it was too slow.
    ///   `onDrop` runs (once) when the hub drops it, e.g. to close its connection.
    /// - Parameter samples: whether it takes every committed row (`samples`).
    func subscribe(streams: Set<String>?, events: Bool = false, legacy: Bool = false, samples: Bool = true,
                   onDrop: @escaping @Sendable () -> Void = {}) -> (UUID, AsyncStream<String>, Backlog) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferSize))
        let backlog = Backlog(onDrop: onDrop)
        subscribers[id] = Subscriber(streams: streams, events: events, samples: samples, legacy: legacy, continuation: continuation, backlog: backlog)
        metrics?.webSocketClients.record(subscribers.count)
        countDemand()
        return (id, stream, backlog)
    }

    func update(_ id: UUID, streams: Set<String>?, events: Bool, samples: Bool = true, signal: Bool = false) {
        subscribers[id]?.streams = streams
        subscribers[id]?.events = events
        subscribers[id]?.samples = samples
        subscribers[id]?.signal = signal
        countDemand()
        announceWatch(force: false)
    }

    func unsubscribe(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
        metrics?.webSocketClients.record(subscribers.count)
        countDemand()
    }

    /// Sends a message to those following `stream` (and, for events, those following events);
    /// in a cluster, to the other servers' subscribers too (``share(_:stream:)``).
    func publish(_ push: Push, stream: String) {
        share(push, stream: stream)
        guard !subscribers.isEmpty else { return }
        send(push, stream: stream) { s in
            (!push.isSamples || s.samples) && (s.streams?.contains(stream) ?? true || (push.isEvent && s.events))
        }
    }

    /// Sends a message another server of the cluster pushed, already encoded for review sockets
    /// and for VerTac's legacy socket (``ClusterBus``), to those following `stream` (and, for
    /// events, those following events).
    func relay(stream: String, review: String, legacy: String?, event: Bool, signal: Bool = false) {
        guard !subscribers.isEmpty else { return }
        queue(stream: stream, text: { $0 ? legacy : review }) { s in
            signal ? wantsSignal(s, stream) : s.streams?.contains(stream) ?? true || (event && s.events)
        }
    }

    /// Encodes a message once per naming (review feed, VerTac's legacy socket) and queues it for
    /// each subscriber `wanted` accepts.
    private func send(_ push: Push, stream: String, to wanted: (Subscriber) -> Bool) {
        guard subscribers.values.contains(where: wanted) else { return }
        let now = Date().timeIntervalSince1970
        var texts: [Bool: String?] = [:]
        queue(stream: stream, text: { legacy in
            if let t = texts[legacy] { return t }
            let t = push.json(stream: stream, time: now, legacy: legacy)
            texts[legacy] = t
            return t
        }, to: wanted)
    }

    /// Queues the message `text` gives (for a legacy subscriber or not) for each subscriber
    /// `wanted` accepts; drops subscribers that fell too far behind.
    private func queue(stream: String, text: (Bool) -> String?, to wanted: (Subscriber) -> Bool) {
        for (id, s) in subscribers where wanted(s) {
            guard let json = text(s.legacy) else { continue }
            let size = json.utf8.count
            guard s.backlog.add(size) <= Self.maxPendingBytes else {
                s.backlog.markDropped()
                unsubscribe(id)
                continue
            }
            if case .dropped(let old) = s.continuation.yield(json) { s.backlog.sent(old.utf8.count) }
        }
    }

    // MARK: Decimated signal for live charts

    /// Shortest time between two `signal` pushes of one stream (at most 20 a second).
    static let signalInterval: Duration = .milliseconds(50)
    private var decimators: [String: SignalDecimator] = [:]
    private var lastSignal: [String: ContinuousClock.Instant] = [:]
    private var signalScheduled: Set<String> = []

    private func wantsSignal(_ s: Subscriber, _ stream: String) -> Bool { s.signal && (s.streams?.contains(stream) ?? true) }

    /// Committed rows of a stream, for the subscribers that follow its decimated signal.
    func rows(stream: String, sensors: [String], rows: [SampleRow]) {
        guard subscribers.values.contains(where: { wantsSignal($0, stream) }) || remotelyWatched(stream, signal: true), !sensors.isEmpty else {
            decimators[stream] = nil
            return
        }
        let cycleID = rows.last?.cycleID
        var d = decimators[stream].flatMap { $0.width == sensors.count ? $0 : nil } ?? SignalDecimator(width: sensors.count)
        for r in rows where r.values.count == sensors.count { d.add(time: r.time, values: r.values) }
        decimators[stream] = d
        let now = ContinuousClock.now
        if let last = lastSignal[stream], now - last < Self.signalInterval {
            guard !signalScheduled.contains(stream) else { return }
            signalScheduled.insert(stream)
            let wait = Self.signalInterval - (now - last)
            Task {
                try? await Task.sleep(for: wait)
                self.emitSignal(stream: stream, sensors: sensors, cycleID: cycleID)
            }
        } else {
            emitSignal(stream: stream, sensors: sensors, cycleID: cycleID)
        }
    }

    private func emitSignal(stream: String, sensors: [String], cycleID: String?) {
        signalScheduled.remove(stream)
        guard var d = decimators[stream], d.hasNews else { return }
        let points = d.take()
        decimators[stream] = d
        lastSignal[stream] = ContinuousClock.now
        let push = Push.signal(SignalUpdate(sensors: sensors, bucket: d.bucket, cycleID: cycleID, points: points))
        share(push, stream: stream)
        send(push, stream: stream) { wantsSignal($0, stream) }
    }

}

/// Bytes pushed to one subscriber and not yet written to its socket.
final class Backlog: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = 0
    private var wasDropped = false
    private let onDrop: @Sendable () -> Void

    init(onDrop: @escaping @Sendable () -> Void) { self.onDrop = onDrop }

    /// Adds a message's bytes; returns the new total.
    func add(_ n: Int) -> Int { lock.withLock { bytes += n; return bytes } }
    /// A message of `n` bytes was written (or discarded).
    func sent(_ n: Int) { lock.withLock { bytes -= n } }
    func markDropped() {
        let first = lock.withLock { () -> Bool in
            defer { wasDropped = true }
            return !wasDropped
        }
        if first { onDrop() }
    }
    /// Whether the hub dropped this subscriber for falling too far behind.
    var dropped: Bool { lock.withLock { wasDropped } }
    var pendingBytes: Int { lock.withLock { bytes } }
}
