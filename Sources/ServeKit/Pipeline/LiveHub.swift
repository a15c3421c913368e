import Foundation
import Inference

/// Fans server messages out to WebSocket subscribers: `{type, timestamp, stream_id, data}`.
///
/// Each subscriber gets its own bounded buffer; a subscriber that cannot keep up loses its oldest
/// messages rather than holding memory or slowing ingestion.
public actor LiveHub {
    struct Subscriber {
        /// Streams it follows; nil for all.
        var streams: Set<String>?
        /// Whether it wants maintenance events of every stream.
        var events: Bool
        let continuation: AsyncStream<String>.Continuation
    }

    private var subscribers: [UUID: Subscriber] = [:]
    public static let bufferSize = 1_024
    let metrics: ServerMetrics?

    public init(metrics: ServerMetrics? = nil) { self.metrics = metrics }

    public var count: Int { subscribers.count }

    /// A new subscriber following `streams` (nil: every stream).
    public func subscribe(streams: Set<String>?, events: Bool = false) -> (UUID, AsyncStream<String>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferSize))
        subscribers[id] = Subscriber(streams: streams, events: events, continuation: continuation)
        metrics?.webSocketClients.record(subscribers.count)
        return (id, stream)
    }

    public func update(_ id: UUID, streams: Set<String>?, events: Bool) {
        subscribers[id]?.streams = streams
        subscribers[id]?.events = events
    }

    public func unsubscribe(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
        metrics?.webSocketClients.record(subscribers.count)
    }

    /// Sends a message to those following `stream` (and, for events, those following events).
    public func publish<T: Encodable>(_ type: String, stream: String, data: T, isEvent: Bool = false) {
        guard !subscribers.isEmpty else { return }
        let envelope = Envelope(type: type, timestamp: Timestamp.format(Date().timeIntervalSince1970), stream_id: stream, data: data)
        guard let json = try? String(decoding: JSONEncoder().encode(envelope), as: UTF8.self) else { return }
        for s in subscribers.values where s.streams?.contains(stream) ?? true || (isEvent && s.events) {
            s.continuation.yield(json)
        }
    }

    struct Envelope<T: Encodable>: Encodable {
        let type: String
        let timestamp: String
        let stream_id: String
        let data: T
    }
}
