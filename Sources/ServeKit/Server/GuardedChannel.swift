import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// Hummingbird's HTTP/1 + WebSocket child channel behind the server's connection protections:
/// a cap on open connections (503 beyond it), and a ``HeadGuardHandler`` in front of the HTTP
/// decoder for the first request head (time limit, size limit, WebSocket upgrades refused with
/// the JSON errors of HTTP).
struct GuardedChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let inner: HTTP1WebSocketUpgradeChannel
    let limits: ConnectionLimits
    let gate: ConnectionGate
    let checkUpgrade: HeadGuardHandler.UpgradeCheck
    let onRefused: @Sendable () -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard gate.enter() else {
            onRefused()
            // The channel is not active yet: the answer goes out once it is.
            let answer = RawResponse.error(.serviceUnavailable, "too_many_connections",
                                           "the server has \(gate.limit) connections open; retry shortly", retryAfter: 1)
            do {
                try channel.pipeline.syncOperations.addHandler(RefuseHandler(answer: answer))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return inner.setup(channel: channel, logger: logger)
        }
        channel.closeFuture.whenComplete { [gate] _ in gate.leave() }
        do {
            try channel.pipeline.syncOperations.addHandler(
                HeadGuardHandler(timeout: limits.headerTimeout, maxBytes: limits.maxHeaderBytes, checkUpgrade: checkUpgrade))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

}

/// Answers a connection over the cap with its 503 as soon as it is active, reads nothing of
/// it, and closes it.
final class RefuseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let answer: ByteBuffer
    private var answered = false

    init(answer: ByteBuffer) { self.answer = answer }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) { refuse(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with WebSocket upgrades (routes in `router`) behind ``GuardedChannel``.
    static func guarded(router: Router<VertacRequestContext>, limits: ConnectionLimits, gate: ConnectionGate,
                        checkUpgrade: @escaping HeadGuardHandler.UpgradeCheck, onRefused: @escaping @Sendable () -> Void) -> HTTPServerBuilder {
        let webSocketResponder = router.buildResponder()
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .nanoseconds(Int64(limits.idleTimeout.components.seconds) * 1_000_000_000)),
            ws: .init(maxFrameSize: WebSocketController.maxFrame, autoPing: .enabled(timePeriod: limits.webSocketPing)))
        return .init { responder in
            GuardedChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder,
                                                                configuration: configuration),
                           limits: limits, gate: gate, checkUpgrade: checkUpgrade, onRefused: onRefused)
        }
    }
}
