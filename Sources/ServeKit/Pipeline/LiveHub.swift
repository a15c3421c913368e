import Foundation
import Inference

/// Fans server messages out to WebSocket subscribers: `{type, timestamp, stream_id, data}`.
///
/// Each subscriber gets its own buffer, bounded in messages and in bytes: past
/// ``bufferSize`` messages it loses its oldest ones; past ``maxPendingBytes`` it is dropped (its
/// socket closed) rather than holding memory or slowing ingestion.
public actor LiveHub {
    struct Subscriber {
        /// Streams it follows; nil for all.
        var streams: Set<String>?
        /// Whether it wants maintenance events of every stream.
        var events: Bool
        /// Whether it wants every committed row (`samples`); live charts take `signal` instead.
        var samples = true
        /// Whether it wants the decimated `signal` of the streams it follows.
        var signal = false
        let continuation: AsyncStream<String>.Continuation
        let backlog: Backlog
    }

    private var subscribers: [UUID: Subscriber] = [:]
    public static let bufferSize = 1_024
    /// Bytes of messages a subscriber may leave unsent before it is dropped.
    public static let maxPendingBytes = 4 << 20
    let metrics: ServerMetrics?

    public init(metrics: ServerMetrics? = nil) { self.metrics = metrics }

    public var count: Int { subscribers.count }

    /// A new subscriber following `streams` (nil: every stream).
    ///
    /// - Returns: its id, its messages, and its backlog: the reader calls `sent` after writing each
    ///   message; `dropped` tells it, once the stream ends, that it was too slow.
    ///   `onDrop` runs (once) when the hub drops it, e.g. to close its connection.
    public func subscribe(streams: Set<String>?, events: Bool = false,
                          onDrop: @escaping @Sendable () -> Void = {}) -> (UUID, AsyncStream<String>, Backlog) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferSize))
        let backlog = Backlog(onDrop: onDrop)
        subscribers[id] = Subscriber(streams: streams, events: events, continuation: continuation, backlog: backlog)
        metrics?.webSocketClients.record(subscribers.count)
        return (id, stream, backlog)
    }

    public func update(_ id: UUID, streams: Set<String>?, events: Bool, samples: Bool = true, signal: Bool = false) {
        subscribers[id]?.streams = streams
        subscribers[id]?.events = events
        subscribers[id]?.samples = samples
        subscribers[id]?.signal = signal
    }

    public func unsubscribe(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
        metrics?.webSocketClients.record(subscribers.count)
    }

    /// Sends a message to those following `stream` (and, for events, those following events).
    public func publish<T: Encodable>(_ type: String, stream: String, data: T, isEvent: Bool = false) {
        guard !subscribers.isEmpty else { return }
        send(type, stream: stream, data: data) { s in
            (type != "samples" || s.samples) && (s.streams?.contains(stream) ?? true || (isEvent && s.events))
        }
    }

    private func send<T: Encodable>(_ type: String, stream: String, data: T, to wanted: (Subscriber) -> Bool) {
        guard subscribers.values.contains(where: wanted) else { return }
        let envelope = Envelope(type: type, timestamp: Timestamp.format(Date().timeIntervalSince1970), stream_id: stream, data: data)
        guard let json = try? String(decoding: JSONEncoder().encode(envelope), as: UTF8.self) else { return }
        let size = json.utf8.count
        for (id, s) in subscribers where wanted(s) {
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
    public static let signalInterval: Duration = .milliseconds(50)
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
        send("signal", stream: stream, data: SignalMessage(sensors: sensors, bucket: d.bucket, cycle_id: cycleID, points: points)) {
            wantsSignal($0, stream)
        }
    }

    struct Envelope<T: Encodable>: Encodable {
        let type: String
        let timestamp: String
        let stream_id: String
        let data: T
    }
}

/// Bytes pushed to one subscriber and not yet written to its socket.
public final class Backlog: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = 0
    private var wasDropped = false
    private let onDrop: @Sendable () -> Void

    init(onDrop: @escaping @Sendable () -> Void) { self.onDrop = onDrop }

    /// Adds a message's bytes; returns the new total.
    func add(_ n: Int) -> Int { lock.withLock { bytes += n; return bytes } }
    /// A message of `n` bytes was written (or discarded).
    public func sent(_ n: Int) { lock.withLock { bytes -= n } }
    func markDropped() {
        let first = lock.withLock { () -> Bool in
            defer { wasDropped = true }
            return !wasDropped
        }
        if first { onDrop() }
    }
    /// Whether the hub dropped this subscriber for falling too far behind.
    public var dropped: Bool { lock.withLock { wasDropped } }
    public var pendingBytes: Int { lock.withLock { bytes } }
}
