import Foundation
import Logging
import WSClient

extension Uploader {
    /// What the server answered on the socket.
    enum Reply {
        case ok
        case error(code: String, message: String)
    }

    /// Sends the outbox over the stream's WebSocket (`/api/live/ws/stream/{id}`), one item at a
    /// time, each removed when the server answers `ack` or `cycle`.
    ///
    /// - Returns: false when the socket could not be used at all (the caller falls back to HTTP);
    ///   true when the outbox was emptied over it.
    /// - Throws: when the connection broke mid-way (what was not acknowledged stays in the buffer).
    public func drainOverWebSocket(stream: String) async throws -> Bool {
        var components = URLComponents(url: server, resolvingAgainstBaseURL: false)!
        components.scheme = components.scheme == "https" ? "wss" : "ws"
        components.path = "/api/live/ws/stream/\(stream)"
        // Replies only: the uploader reads nothing the server pushes.
        components.queryItems = (token.map { [URLQueryItem(name: "token", value: $0)] } ?? []) + [URLQueryItem(name: "pushes", value: "false")]
        guard let url = components.string else { return false }
        socketOpened = false
        do {
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: logger) { inbound, outbound, _ in
                await self.markSocketOpened()
                var messages = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
                while let item = try await self.nextItem() {
                    try await outbound.write(.text(Self.socketText(item)))
                    // Pushed messages (samples, state_change, …) may come first: wait for the reply.
                    var reply: Reply?
                    while reply == nil {
                        guard let message = try await messages.next() else { throw UploadError(message: "socket closed") }
                        guard case .text(let text) = message,
                              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                              let type = object["type"] as? String else { continue }
                        switch type {
                        case "ack", "cycle": reply = .ok
                        case "error":
                            let data = object["data"] as? [String: Any]
                            reply = .error(code: data?["code"] as? String ?? "", message: data?["message"] as? String ?? "")
                        default: continue
                        }
                    }
                    try await self.settle(item, reply!)
                }
            }
        } catch let e as UploadError {
            throw e
        } catch {
            if socketOpened { throw error }
            return false
        }
        return socketOpened
    }

    func markSocketOpened() {
        socketOpened = true
        transport = "websocket"
    }

    func nextItem() throws -> EdgeBuffer.Item? { try buffer.first() }

    /// The socket form of an outbox item: batches as they are, cycle events as commands.
    static func socketText(_ item: EdgeBuffer.Item) -> String {
        guard item.kind != "batch" else { return item.body }
        if item.kind == "start", !item.body.isEmpty,
           var object = try? JSONSerialization.jsonObject(with: Data(item.body.utf8)) as? [String: Any] {
            object["type"] = "cycle_start"
            return String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
        }
        return "cycle_\(item.kind)"
    }

    /// Acts on the server's answer to one item, as the HTTP path does.
    func settle(_ item: EdgeBuffer.Item, _ reply: Reply) async throws {
        switch reply {
        case .ok:
            try buffer.remove(item.seq)
            countSent()
        case .error(let code, _) where code == "invalid_cycle_event" && item.kind != "batch":
            try buffer.remove(item.seq)   // already applied before an outage
        case .error(let code, let message) where code == "busy" || code == "rate_limited" || code == "internal":
            countRetry()
            logger.info("server busy; retrying", metadata: ["code": "\(code)", "message": "\(message)"])
            try await Task.sleep(for: .seconds(minDelay * 4))
        case .error(let code, let message):
            logger.error("server refused an item; set aside", metadata: ["code": "\(code)", "message": "\(message)"])
            try buffer.bury(item, reason: "\(code): \(message)")
        }
    }

    /// Sends the outbox, preferring the WebSocket and falling back to HTTP when the socket cannot
    /// be opened or breaks.
    public func drainPreferringWebSocket(stream: String) async throws {
        guard try buffer.first() != nil else { return }
        do {
            if try await drainOverWebSocket(stream: stream) {
                transport = "websocket"
                return
            }
        } catch {
            logger.info("WebSocket broke; falling back to HTTP", metadata: ["error": "\(error)"])
        }
        transport = "http"
        try await drain(stream: stream)
    }
}
