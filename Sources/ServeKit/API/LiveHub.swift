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

    init(metrics: ServerMetrics? = nil) { self.metrics = metrics }

    /// How many subscribers take every committed row (`samples`) or the decimated `signal`: when
    /// none does, ingest does not build those pushes (read without a hop to this actor).
    private nonisolated let demand = Mutex((samples: 0, signal: 0))

    /// Whether any subscriber takes a stream's rows, as `samples` or as `signal`.
    nonisolated var wantsRows: Bool { demand.withLock { $0.samples + $0.signal > 0 } }

    private func countDemand() {
        let samples = subscribers.values.count { $0.samples }, signal = subscribers.values.count { $0.signal }
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
    }

    func unsubscribe(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
        metrics?.webSocketClients.record(subscribers.count)
        countDemand()
    }

    /// Sends a message to those following `stream` (and, for events, those following events).
    func publish(_ push: Push, stream: String) {
        guard !subscribers.isEmpty else { return }
        send(push, stream: stream) { s in
            (!push.isSamples || s.samples) && (s.streams?.contains(stream) ?? true || (push.isEvent && s.events))
        }
    }

    /// Sends a message another server of the cluster pushed, already encoded for review sockets
    /// and for VerTac's legacy socket (``ClusterBus``), to those following `stream` (and, for
    /// events, those following events).
    func relay(stream: String, review: String, legacy: String?, event: Bool) {
        guard !subscribers.isEmpty else { return }
        queue(stream: stream, text: { $0 ? legacy : review }) { s in s.streams?.contains(stream) ?? true || (event && s.events) }
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
        guard subscribers.values.contains(where: { wantsSignal($0, stream) }), !sensors.isEmpty else {
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
        send(.signal(SignalUpdate(sensors: sensors, bucket: d.bucket, cycleID: cycleID, points: points)), stream: stream) {
            wantsSignal($0, stream)
        }
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

/// In a cluster: the server's own subscribers get every push, the other servers' subscribers
/// those the ``ClusterBus`` shares.
struct ClusterFanOut: PushSink {
    let local: LiveHub
    let bus: ClusterBus

    func publish(_ push: Push, stream: String) async {
        await local.publish(push, stream: stream)
        guard push.isShared else { return }
        let now = Date().timeIntervalSince1970
        guard let review = push.json(stream: stream, time: now, legacy: false) else { return }
        bus.send(.push(stream: stream, review: review, legacy: push.json(stream: stream, time: now, legacy: true), event: push.isEvent))
    }

    var wantsRows: Bool { local.wantsRows }
    func rows(stream: String, sensors: [String], rows: [SampleRow]) async { await local.rows(stream: stream, sensors: sensors, rows: rows) }
}
