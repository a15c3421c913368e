import Foundation
import Hummingbird
import HummingbirdWebSocket
import Inference

/// WebSockets: VerTac's per-stream socket and the review API's live feed.
struct WebSocketController: Sendable {
    let live: LiveService
    let hub: LiveHub
    let verifier: TokenVerifier
    /// Largest inbound message accepted.
    let maxMessage = 1 << 20

    func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        // VerTac: /api/live/ws/stream/{stream_id}. Commands "ping", "cycle_start", "cycle_stop"
        // (also pause/resume), and sample batches as JSON ({"samples": [...]} or {"rows": [...]}).
        // Pushes samples, state_change, analysis_result.
        router.ws("/api/live/ws/stream/{stream_id}") { request, context in
            guard (try? await authorize(request, verifier: verifier, scope: .ingest)) != nil else { return .dontUpgrade }
            guard let id = context.parameters.get("stream_id"), await live.isRegistered(id) else { return .dontUpgrade }
            return .upgrade()
        } onUpgrade: { inbound, outbound, context in
            guard let stream = context.requestContext.parameters.get("stream_id") else { return }
            try await relaying(streams: [stream], to: outbound) { _ in
                for try await message in inbound.messages(maxSize: maxMessage) {
                    guard case .text(let text) = message else { continue }
                    let reply = await handle(text.trimmingCharacters(in: .whitespacesAndNewlines), stream: stream)
                    try await outbound.write(.text(reply))
                }
            }
        }

        // Review feed: /api/v1/live. Send {"subscribe": ["<stream id>", …] | "*", "events": true}; add
        // "samples": false to leave out every committed row and "signal": true for the decimated
        // signal of the streams followed (live charts).
        router.ws("/api/v1/live") { request, _ in
            (try? await authorize(request, verifier: verifier, scope: .engineer)) != nil ? .upgrade() : .dontUpgrade
        } onUpgrade: { inbound, outbound, _ in
            try await relaying(streams: [], to: outbound) { sub in
                for try await message in inbound.messages(maxSize: maxMessage) {
                    guard case .text(let text) = message else { continue }
                    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                        try await outbound.write(.text(#"{"type":"error","data":{"code":"bad_request","message":"send {\"subscribe\": [...], \"events\": true}"}}"#))
                        continue
                    }
                    let streams: Set<String>? = (object["subscribe"] as? String) == "*" ? nil : Set(object["subscribe"] as? [String] ?? [])
                    let events = object["events"] as? Bool ?? false
                    let samples = object["samples"] as? Bool ?? true, signal = object["signal"] as? Bool ?? false
                    await hub.update(sub, streams: streams, events: events, samples: samples, signal: signal)
                    try await outbound.write(.text(#"{"type":"subscribed","data":{"streams":\#(streams.map { "\($0.count)" } ?? "\"*\""),"events":\#(events),"samples":\#(samples),"signal":\#(signal)}}"#))
                }
            }
        }
    }

    /// Subscribes to the hub and relays what it publishes to `outbound` while `body` reads the
    /// socket; unsubscribes when the socket closes.
    func relaying(streams: Set<String>?, to outbound: WebSocketOutboundWriter,
                  _ body: (UUID) async throws -> Void) async throws {
        let (sub, messages) = await hub.subscribe(streams: streams)
        defer { Task { await hub.unsubscribe(sub) } }
        let writer = Task {
            for await m in messages { try? await outbound.write(.text(m)) }
        }
        defer { writer.cancel() }
        try await body(sub)
    }

    /// One command or batch from a stream's socket; returns the reply.
    func handle(_ text: String, stream: String) async -> String {
        func reply<T: Encodable>(_ type: String, _ data: T) -> String {
            let envelope = LiveHub.Envelope(type: type, timestamp: Timestamp.format(Date().timeIntervalSince1970), stream_id: stream, data: data)
            return (try? String(decoding: JSONEncoder().encode(envelope), as: UTF8.self)) ?? "{}"
        }
        func failure(_ e: Error) -> String {
            let api = e as? APIError ?? APIError(.internalServerError, "internal", "\(e)")
            return reply("error", ["code": api.code, "message": api.message])
        }
        let commands: [String: CycleEvent] = ["cycle_start": .start, "cycle_stop": .stop, "cycle_pause": .pause,
                                              "cycle_resume": .resume, "cycle_acknowledge": .acknowledge]
        if text == "ping" || text == #""ping""# { return reply("pong", [String: String]()) }
        if let event = commands[text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))] {
            do { return reply("cycle", try await live.cycleEvent(event, stream: stream, metadata: [:])) } catch { return failure(error) }
        }
        do {
            var data = Data(text.utf8)
            // A batch without stream_id belongs to this socket's stream.
            if var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if let type = object["type"] as? String, let event = commands[type] {
                    return reply("cycle", try await live.cycleEvent(event, stream: stream, metadata: object["metadata"] as? [String: String] ?? [:]))
                }
                if object["stream_id"] == nil { object["stream_id"] = stream }
                data = try JSONSerialization.data(withJSONObject: object)
            }
            let batch = try JSONDecoder().decode(BatchRequest.self, from: data)
            guard batch.stream_id == stream else { throw APIError.badRequest("this socket is for stream \(stream)") }
            return reply("ack", try await live.ingest(batch))
        } catch let e as APIError {
            return failure(e)
        } catch {
            return failure(APIError.badRequest("unknown command or malformed batch: \(text.prefix(80))"))
        }
    }
}

extension LiveService {
    func isRegistered(_ id: String) -> Bool { (try? known(id)) != nil }
}
