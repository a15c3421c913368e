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
            let answer = RawResponse.error(.serviceUnavailable, "too_many_connections",
                                           "the server has \(gate.limit) connections open; retry shortly", retryAfter: 1)
            return channel.writeAndFlush(answer).flatMapThrowing { _ in throw TooManyConnections() }
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

    struct TooManyConnections: Error {}
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
