import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The server's request context: Hummingbird's WebSocket-capable context plus the connection's
/// channel, so that a WebSocket whose client stopped reading can be closed from outside.
public struct VertacRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection (nil where a test source has none).
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
