import Foundation
import Hummingbird
import NIOCore
import HummingbirdWebSocket
import Inference

extension RegisterResponse: ResponseEncodable {}
extension BatchResponse: ResponseEncodable {}
extension CycleResponse: ResponseEncodable {}
extension StatusResponse: ResponseEncodable {}

/// Decodes a JSON body, answering 400 with the decoder's reason instead of a bare failure.
func decodeJSON<T: Decodable>(_ type: T.Type, _ request: Request, _ context: some RequestContext,
                               limit: Int = RequestBody.maxBytes) async throws -> T {
    let buffer = try await RequestBody.collect(request, limit: limit)
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
    } catch let DecodingError.dataCorrupted(c) {
        throw APIError.badRequest("malformed JSON: \(c.debugDescription)")
    } catch let DecodingError.keyNotFound(key, c) {
        throw APIError.badRequest("missing field \(path(c.codingPath + [key]))")
    } catch let DecodingError.typeMismatch(t, c) {
        throw APIError.badRequest("field \(path(c.codingPath)) is not \(t)")
    } catch let DecodingError.valueNotFound(t, c) {
        throw APIError.badRequest("field \(path(c.codingPath)) is null, expected \(t)")
    }
}

/// Reads a batch body (``BatchDecoder``), answering 400 with the reason.
func decodeBatch(_ buffer: ByteBuffer, defaultStream: String? = nil) throws -> BatchRequest {
    try decodeBatchCommand(buffer, defaultStream: defaultStream).batch
}

/// A batch body and its top-level `type` (a stream socket's command), answering 400 with the reason.
func decodeBatchCommand(_ buffer: ByteBuffer, defaultStream: String? = nil) throws -> (batch: BatchRequest, type: String?) {
    do {
        return try buffer.withUnsafeReadableBytes { try BatchDecoder.decode($0, defaultStream: defaultStream) }
    } catch let e as BatchDecodingError {
        throw APIError.badRequest(e.message)
    }
}

private func path(_ keys: [CodingKey]) -> String {
    keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
}

/// VerTac's live API as documented (v0.2.0), so existing edge connectors work unchanged.
struct LiveController<Context: RequestContext>: Sendable {
    let live: LiveService

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("register", use: register)
        group.post("batch", use: batch)
        for (path, event) in [("start", CycleEvent.start), ("stop", .stop), ("pause", .pause), ("resume", .resume), ("acknowledge", .acknowledge)] {
            group.post("cycle/\(path)") { request, context in try await cycleCommand(event, request, context: context) }
        }
        group.get("stream/{stream_id}/status", use: status)
    }

    // MARK: Handlers

    @Sendable func register(_ request: Request, context: Context) async throws -> RegisterResponse {
        RegisterResponse(try await live.register(try await decodeJSON(RegisterRequest.self, request, context).spec))
    }

    /// Samples or rows of one stream; acknowledged once committed.
    @Sendable func batch(_ request: Request, context: Context) async throws -> BatchResponse {
        let arrival = ServerMetrics.now()
        let buffer = try await RequestBody.collect(request, limit: RequestBody.maxBytes)
        return BatchResponse(try await live.ingest(try decodeBatch(buffer).ingestBatch(), arrival: arrival))
    }

    /// `cycle/start` (with optional `{"metadata": {...}}`), `stop`, `pause`, `resume`, `acknowledge`.
    @Sendable func cycleCommand(_ event: CycleEvent, _ request: Request, context: Context) async throws -> CycleResponse {
        guard let stream = request.uri.queryParameters.get("stream_id") else {
            throw APIError.badRequest("stream_id query parameter is required")
        }
        var metadata: [String: String] = [:]
        // Only start takes a body; an oversize or slow one is refused, never dropped.
        let buffer = try await RequestBody.collect(request, limit: RequestBody.maxCommandBytes)
        if event == .start, buffer.readableBytes > 0 {
            do {
                metadata = try JSONDecoder().decode(CycleStartRequest.self, from: Data(buffer: buffer)).metadata ?? [:]
            } catch {
                throw APIError.badRequest("malformed JSON: metadata must be an object of strings")
            }
        }
        return CycleResponse(try await live.cycleEvent(event, stream: String(stream), metadata: metadata))
    }

    @Sendable func status(_ request: Request, context: Context) async throws -> StatusResponse {
        StatusResponse(try await live.status(try context.parameters.require("stream_id")))
    }
}
