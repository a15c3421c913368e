import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import WSClient

/// In a cluster (`docs/scale-out.md`): a stream's socket opened on a server that does not own the
/// stream is relayed to the owner's socket for that stream — every message both ways, unchanged —
/// so that any server takes a stream socket, as it takes HTTP requests (``ForwardToOwner``). The
/// owner answers and pushes as it does to its own clients. When either side closes (the stream
/// moved to another server, the owner stopped), the other is closed too, with 1001 "going away":
/// the client connects again and reaches the new owner.
enum SocketForwarding {
    /// Relays the socket whose upgrade was `request` to the stream's socket on `address`.
    static func relay(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, request: Request, to address: String,
                      logger: Logger) async throws {
        var url = address.hasPrefix("https://") ? "wss://" + address.dropFirst(8) : "ws://" + address.dropFirst(address.hasPrefix("http://") ? 7 : 0)
        url += request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        var headers = HTTPFields()
        if let authorization = request.headers[.authorization] { headers[.authorization] = authorization }
        headers[.vertacForwarded] = "1"
        let configuration = WebSocketClientConfiguration(maxFrameSize: WebSocketController.maxFrame, additionalHeaders: headers)
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { ownerInbound, ownerOutbound, _ in
                // Whichever side ends first, the other is closed: a socket's reader does not end
                // on cancellation, only when its socket closes.
                await withTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        do { for try await m in inbound.messages(maxSize: WebSocketController.maxFrame) { try await ownerOutbound.write(frame(m)) } } catch {}
                        return true
                    }
                    group.addTask {
                        do { for try await m in ownerInbound.messages(maxSize: WebSocketController.maxFrame) { try await outbound.write(frame(m)) } } catch {}
                        return false
                    }
                    if await group.next() == true {
                        try? await ownerOutbound.close(.normalClosure, reason: nil)
                    } else {
                        try? await outbound.close(.goingAway, reason: "the stream's server changed; connect again")
                    }
                    group.cancelAll()
                }
            }
        } catch {
            logger.info("stream socket relay ended", metadata: ["owner": "\(address)", "error": "\(error)"])
        }
        try? await outbound.close(.goingAway, reason: "the stream's server changed; connect again")
    }

    private static func frame(_ m: WebSocketMessage) -> WebSocketOutboundWriter.OutboundFrame {
        switch m {
        case .text(let s): .text(s)
        case .binary(let b): .binary(b)
        }
    }
}
