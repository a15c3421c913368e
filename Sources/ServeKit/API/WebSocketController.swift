import Foundation
import Hummingbird
import Logging
import HummingbirdWebSocket
import Inference
import NIOCore

/// WebSockets: VerTac's per-stream socket and the review API's live feed.
struct WebSocketController: Sendable {
    let live: LiveService
    let hub: LiveHub
    let verifier: TokenVerifier
    /// Messages per second per token, shared with HTTP (nil: unlimited).
    var limiter: RateLimiter? = nil
    /// Largest inbound message accepted (frames are limited to the same in the server's
    /// WebSocket configuration, ``WebSocketController/maxFrame``).
    static let maxMessage = 1 << 20
    static var maxFrame: Int { maxMessage }
    var logger = Logger(label: "vertac.websocket")
    /// Messages refused in a row for the rate limit before the socket is closed (1008).
    static let maxRefusedInARow = 100

    func addRoutes(to router: Router<VertacRequestContext>) {
        router.ws("/api/live/ws/stream/{stream_id}", shouldUpgrade: streamUpgrade, onUpgrade: streamSocket)
        router.ws("/api/v1/live", shouldUpgrade: feedUpgrade, onUpgrade: feedSocket)
    }

    // MARK: Handlers

    /// VerTac's `/api/live/ws/stream/{stream_id}`: an upgrade that is refused (no token, wrong
    /// scope, unknown stream) gets the same JSON error as HTTP.
    @Sendable func streamUpgrade(_ request: Request, context: VertacRequestContext) async throws -> RouterShouldUpgrade {
        try await authorize(request, verifier: verifier, scope: .ingest, queryToken: true)
        let id = try context.parameters.require("stream_id")
        // Unknown: 404. In a cluster, a stream another server owns is relayed to it
        // (``SocketForwarding``); a relayed upgrade that finds the owner moved: 503 not_owner.
        do {
            _ = try await live.owner(id)
        } catch let e as ServiceError where Self.relayable(e, forwarded: request.headers[.vertacForwarded] != nil) {}
        return .upgrade()
    }

    /// Whether a stream socket refused with `e` is relayed to the stream's owner instead: the
    /// owner is another live server and the upgrade did not come from a relay already.
    static func relayable(_ e: ServiceError, forwarded: Bool) -> Bool { e.code == .notOwner && e.ownerAddress != nil && !forwarded }

    /// Commands "ping", "cycle_start", "cycle_stop" (also pause/resume), and sample batches as
    /// JSON (`{"samples": [...]}` or `{"rows": [...]}`). Pushes samples, state_change,
    /// analysis_result (VerTac's names, ``Push/legacyType``); `?samples=false` leaves out the
    /// `samples` pushes (an edge that sends the rows does not need them back), `?pushes=false`
    /// every push.
    @Sendable func streamSocket(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter,
                                context: WebSocketRouterContext<VertacRequestContext>) async throws {
        guard let stream = context.requestContext.parameters.get("stream_id") else { return }
        let clustered = live.cluster != nil
        if clustered {
            do {
                _ = try await live.owner(stream)
            } catch let e as ServiceError where Self.relayable(e, forwarded: context.request.headers[.vertacForwarded] != nil) {
                return try await SocketForwarding.relay(inbound, outbound, request: context.request, to: e.ownerAddress!, logger: logger)
            } catch {}
        }
        let key = Self.tokenKey(context.request)
        let query = context.request.uri.queryParameters
        let answer = { @Sendable () async throws in
            // In a cluster the socket closes (1001) once its stream moved to another server, so
            // that the client connects again and reaches the new owner.
            let watcher = clustered ? Task {
                while !Task.isCancelled, live.isServed(stream) { try await Task.sleep(for: .seconds(1)) }
                guard !Task.isCancelled else { return }
                try? await outbound.close(.goingAway, reason: "the stream moved to another server; connect again")
            } : nil
            defer { watcher?.cancel() }
            try await eachAllowedMessage(inbound, outbound, key: key, stream: stream) { message in
                let reply: String
                switch message {
                case .text(let text): reply = await handle(text.trimmingCharacters(in: .whitespacesAndNewlines), stream: stream)
                case .binary(let buffer): reply = await handle(binary: buffer, stream: stream)
                }
                try await outbound.write(.text(reply))
            }
        }
        // `?pushes=false`: replies only (an edge that only sends); the pushes cost the server an
        // encoding and a write per window scored.
        guard query.get("pushes") != "false" else { return try await answer() }
        try await relaying(streams: [stream], legacy: true, samples: query.get("samples") != "false", to: outbound,
                           channel: context.requestContext.channel) { _ in try await answer() }
    }

    @Sendable func feedUpgrade(_ request: Request, context: VertacRequestContext) async throws -> RouterShouldUpgrade {
        try await authorize(request, verifier: verifier, scope: .engineer, queryToken: true)
        return .upgrade()
    }

    /// The review feed, `/api/v1/live`. Send `{"subscribe": ["<stream id>", …] | "*", "events": true}`;
    /// add `"samples": false` to leave out every committed row and `"signal": true` for the
    /// decimated signal of the streams followed (live charts).
    @Sendable func feedSocket(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter,
                              context: WebSocketRouterContext<VertacRequestContext>) async throws {
        let key = Self.tokenKey(context.request)
        try await relaying(streams: [], to: outbound, channel: context.requestContext.channel) { sub in
            try await eachAllowedText(inbound, outbound, key: key, stream: "") { text in
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                    try await outbound.write(.text(FeedReply.error(code: "bad_request", message: #"send {"subscribe": [...], "events": true}"#)))
                    return
                }
                let streams: Set<String>? = (object["subscribe"] as? String) == "*" ? nil : Set(object["subscribe"] as? [String] ?? [])
                let events = object["events"] as? Bool ?? false
                let samples = object["samples"] as? Bool ?? true, signal = object["signal"] as? Bool ?? false
                await hub.update(sub, streams: streams, events: events, samples: samples, signal: signal)
                try await outbound.write(.text(FeedReply.subscribed(.init(streams: streams.map { .count($0.count) } ?? .all,
                                                                          events: events, samples: samples, signal: signal))))
            }
        }
    }

    /// The checks of an upgrade before it reaches the router (see ``HeadGuardHandler``): the
    /// token and, for a stream's socket, the stream. Nil for paths that are not sockets.
    func refusal(_ head: HeadGuardHandler.Head) async -> APIError? {
        let scope: TokenScope
        var stream: String?
        if head.path == "/api/v1/live" {
            scope = .engineer
        } else if head.path.hasPrefix("/api/live/ws/stream/") {
            scope = .ingest
            stream = String(head.path.dropFirst("/api/live/ws/stream/".count))
        } else {
            return nil
        }
        let query = head.query.flatMap { q in
            q.split(separator: "&").first { $0.hasPrefix("token=") }.map { String($0.dropFirst(6)).removingPercentEncoding ?? "" }
        }
        do {
            try await authorize(header: head.headers["authorization"], query: query, verifier: verifier, scope: scope)
            if let stream {
                do {
                    _ = try await live.owner(stream)
                } catch let e as ServiceError where Self.relayable(e, forwarded: head.headers["x-vertac-forwarded"] != nil) {}
            }
            return nil
        } catch let e as APIError {
            return e
        } catch let e as ServiceError {
            return APIError(e)
        } catch {
            return APIError(.serviceUnavailable, "unavailable", "the token store did not answer; retry shortly")
        }
    }

    /// Hands each text message that the token's rate limit allows to `body`. A refused one gets
    /// an `error` reply; after ``maxRefusedInARow`` refusals in a row the socket is closed (1008).
    func eachAllowedText(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, key: String, stream: String,
                         _ body: (String) async throws -> Void) async throws {
        try await eachAllowedMessage(inbound, outbound, key: key, stream: stream) { message in
            if case .text(let text) = message { try await body(text) }
        }
    }

    /// Hands each message, text or binary, that the token's rate limit allows to `body`. A socket
    /// whose token is revoked is closed (1008): at its next message, and within a second when it
    /// only receives (a review feed).
    func eachAllowedMessage(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, key: String, stream: String,
                            _ body: (WebSocketMessage) async throws -> Void) async throws {
        let verifier = verifier
        let revocation = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                if await verifier.isRefused(hash: key) {
                    try? await outbound.close(.policyViolation, reason: "token revoked")
                    return
                }
            }
        }
        defer { revocation.cancel() }
        var refused = 0
        for try await message in inbound.messages(maxSize: Self.maxMessage) {
            if await verifier.isRefused(hash: key) {
                try await outbound.close(.policyViolation, reason: "token revoked")
                return
            }
            if let wait = await limiter?.take(key) {
                refused += 1
                guard refused < Self.maxRefusedInARow else {
                    try await outbound.close(.policyViolation, reason: "rate limit exceeded")
                    return
                }
                try await outbound.write(.text(Self.rateLimited(wait, stream: stream)))
                continue
            }
            refused = 0
            try await body(message)
        }
    }

    /// The rate limiter's key for a socket: its token's hash (the token itself never leaves).
    static func tokenKey(_ request: Request) -> String {
        let header = request.headers[.authorization].map { String($0.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        return Tokens.hash(header ?? request.uri.queryParameters.get("token").map { String($0) } ?? "")
    }

    static func rateLimited(_ wait: Double, stream: String) -> String {
        #"{"type":"error","stream_id":"\#(stream)","data":{"code":"rate_limited","message":"too many messages for this token; retry in \#(Int(wait.rounded(.up))) s"}}"#
    }

    /// Subscribes to the hub and relays what it publishes to `outbound` while `body` reads the
    /// socket; unsubscribes when the socket closes. A subscriber the hub dropped for falling
    /// too far behind (it does not read) has its connection closed: a close frame
    /// would wait behind the very messages it does not read.
    func relaying(streams: Set<String>?, legacy: Bool = false, samples: Bool = true, to outbound: WebSocketOutboundWriter,
                  channel: (any Channel)?, _ body: (UUID) async throws -> Void) async throws {
        // A reader that stops reading stalls our writes (the socket is not writable); closing
        // the connection is the one thing that still reaches it.
        let (sub, messages, backlog) = await hub.subscribe(streams: streams, legacy: legacy, samples: samples) { channel?.close(promise: nil) }
        defer { Task { await hub.unsubscribe(sub) } }
        let writer = Task {
            for await m in messages {
                try? await outbound.write(.text(m))
                backlog.sent(m.utf8.count)
            }
        }
        defer { writer.cancel() }
        try await body(sub)
    }

    /// A socket's reply: `{type, timestamp, stream_id, data}`.
    static func reply<T: Encodable>(_ type: String, _ data: T, stream: String) -> String {
        let envelope = PushEnvelope(type: type, timestamp: Timestamp.format(Date().timeIntervalSince1970), stream_id: stream, data: data)
        return (try? String(decoding: JSONEncoder().encode(envelope), as: UTF8.self)) ?? "{}"
    }

    /// The `error` reply for what a command threw (logged when it is the server's fault).
    func failure(_ e: Error, stream: String) -> String {
        let api = APIError.from(e) ?? APIError(.internalServerError, "internal", "the server could not complete the command; the error is in its log")
        if APIError.from(e) == nil { logger.error("stream socket command failed", metadata: ["stream": "\(stream)", "error": "\(e)"]) }
        return Self.reply("error", ["code": api.code, "message": api.message], stream: stream)
    }

    /// A binary batch (``BinaryBatch``) from a stream's socket; returns the reply.
    func handle(binary buffer: ByteBuffer, stream: String) async -> String {
        let arrival = ServerMetrics.now()
        do {
            let batch = try buffer.withUnsafeReadableBytes { bytes throws(BatchDecodingError) in try BinaryBatch.decode(bytes, stream: stream) }
            return Self.reply("ack", BatchResponse(try await live.ingest(batch, arrival: arrival)), stream: stream)
        } catch let e as BatchDecodingError {
            return failure(APIError.badRequest(e.message), stream: stream)
        } catch {
            return failure(error, stream: stream)
        }
    }

    /// One command or batch from a stream's socket; returns the reply.
    func handle(_ text: String, stream: String) async -> String {
        let arrival = ServerMetrics.now()
        func reply<T: Encodable>(_ type: String, _ data: T) -> String { Self.reply(type, data, stream: stream) }
        func failure(_ e: Error) -> String { self.failure(e, stream: stream) }
        let commands: [String: CycleEvent] = ["cycle_start": .start, "cycle_stop": .stop, "cycle_pause": .pause,
                                              "cycle_resume": .resume, "cycle_acknowledge": .acknowledge]
        if text == "ping" || text == #""ping""# { return reply("pong", [String: String]()) }
        if let event = commands[text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))] {
            do { return reply("cycle", CycleResponse(try await live.cycleEvent(event, stream: stream, metadata: [:]))) } catch { return failure(error) }
        }
        do {
            // A batch without stream_id belongs to this socket's stream.
            let (batch, type) = try decodeBatchCommand(ByteBuffer(string: text), defaultStream: stream)
            if let type, let event = commands[type] {
                let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                return reply("cycle", CycleResponse(try await live.cycleEvent(event, stream: stream, metadata: object?["metadata"] as? [String: String] ?? [:])))
            }
            guard batch.stream_id == stream else { throw APIError.badRequest("this socket is for stream \(stream)") }
            return reply("ack", BatchResponse(try await live.ingest(try batch.ingestBatch(), arrival: arrival)))
        } catch {
            return failure(error)
        }
    }
}
