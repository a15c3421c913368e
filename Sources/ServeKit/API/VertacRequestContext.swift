import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The server's request context: Hummingbird's WebSocket-capable context plus the connection's
/// channel, so that a WebSocket whose client stopped reading can be closed from outside.
struct VertacRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// The connection (nil where a test source has none).
    let channel: (any Channel)?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
