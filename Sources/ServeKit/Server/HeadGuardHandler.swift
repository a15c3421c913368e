import Foundation
import HTTPTypes
import NIOCore

/// Sits in front of the HTTP decoder until a connection's first request head is complete:
/// closes connections whose head does not arrive within the header timeout (slow clients
/// holding descriptors) with 408, answers heads over the size limit with 431 instead of
/// silence, and lets a WebSocket upgrade through only when ``UpgradeCheck`` finds nothing
/// wrong — otherwise the client gets the same JSON 401/403/404 as on HTTP. Then it steps aside.
final class HeadGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a WebSocket upgrade's head says, for the check.
    struct Head: Sendable {
        var method: String
        var path: String
        var query: String?
        var headers: [String: String]
    }
    /// Returns the error to answer an upgrade with, or nil to let it through.
    typealias UpgradeCheck = @Sendable (Head) async -> APIError?

    private enum State { case reading, checking, done }
    private let timeout: Duration
    private let maxBytes: Int
    private let checkUpgrade: UpgradeCheck
    private var state = State.reading
    private var buffered: ByteBuffer?
    private var scanned = 0
    private var timer: Scheduled<Void>?

    init(timeout: Duration, maxBytes: Int, checkUpgrade: @escaping UpgradeCheck) {
        self.timeout = timeout
        self.maxBytes = maxBytes
        self.checkUpgrade = checkUpgrade
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { startTimer(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    private func startTimer(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let seconds = timeout.components.seconds
        timer = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            guard handler.state == .reading else { return }
            handler.refuse(context, .requestTimeout, "header_timeout", "the request head did not arrive within \(seconds) s")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        switch state {
        case .done:
            context.fireChannelRead(data)
        case .checking:
            buffered?.writeBuffer(&incoming)
        case .reading:
            if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
            guard let end = headEnd() else {
                if buffered!.readableBytes > maxBytes { tooLarge(context) }
                return
            }
            guard end <= maxBytes else { return tooLarge(context) }
            let head = Self.parse(buffered!.getString(at: buffered!.readerIndex, length: end) ?? "")
            guard let head, head.headers["upgrade"]?.lowercased().contains("websocket") == true else { return pass(context) }
            state = .checking
            timer?.cancel()
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let check = checkUpgrade
            let promise = context.eventLoop.makePromise(of: APIError?.self)
            promise.completeWithTask { await check(head) }
            promise.futureResult.whenSuccess { error in
                let (handler, context) = bound.value
                guard handler.state == .checking else { return }
                if let error { handler.refuse(context, error.status, error.code, error.message) } else { handler.pass(context) }
            }
        }
    }

    /// Offset of the end of the head (after `\r\n\r\n`) in the buffer, scanning only new bytes.
    private func headEnd() -> Int? {
        guard let b = buffered else { return nil }
        let view = b.readableBytesView, base = view.startIndex, count = view.count
        var i = max(0, scanned - 3)
        while i + 3 < count {
            if view[base + i] == 13 && view[base + i + 1] == 10 && view[base + i + 2] == 13 && view[base + i + 3] == 10 { return i + 4 }
            i += 1
        }
        scanned = count
        return nil
    }

    private func tooLarge(_ context: ChannelHandlerContext) {
        refuse(context, .init(code: 431, reasonPhrase: "Request Header Fields Too Large"), "header_too_large",
               "the request head is over \(RequestBody.describe(maxBytes))")
    }

    /// Hands everything read so far to the HTTP decoder and leaves the pipeline.
    private func pass(_ context: ChannelHandlerContext) {
        state = .done
        timer?.cancel()
        if let b = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(b))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Answers with a JSON error and closes the connection.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, _ code: String, _ message: String) {
        state = .done
        timer?.cancel()
        buffered = nil
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(RawResponse.error(status, code, message))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Request line and headers (names lower-cased); nil when it is no HTTP request head.
    static func parse(_ text: String) -> Head? {
        let lines = text.components(separatedBy: "\r\n")
        let first = lines[0].split(separator: " ")
        guard first.count == 3 else { return nil }
        let target = String(first[1])
        let parts = target.split(separator: "?", maxSplits: 1)
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Head(method: String(first[0]), path: parts.first.map(String.init) ?? target,
                    query: parts.count > 1 ? String(parts[1]) : nil, headers: headers)
    }
}
