import Foundation
import Hummingbird

/// An error meant for the client: a 4xx (or 503) status with
/// `{"error": {"code": "…", "message": "…"}}`. Anything else becomes a logged 500.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    /// A stable, machine-readable code such as `unknown_stream`.
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    struct Body: Encodable {
        struct Inner: Encodable { let code: String, message: String }
        let error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(Body(error: .init(code: code, message: message)))
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func notFound(_ code: String, _ message: String) -> APIError { APIError(.notFound, code, message) }
    static func conflict(_ code: String, _ message: String) -> APIError { APIError(.conflict, code, message) }
    static func unprocessable(_ code: String, _ message: String) -> APIError { APIError(.unprocessableContent, code, message) }
}

/// Turns Hummingbird's own client errors (too large a body, no route) into the same JSON shape.
struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as HTTPResponseError where e.status.code < 500 {
            let code = e.status == .contentTooLarge ? "body_too_large" : e.status == .notFound ? "not_found" : "bad_request"
            var message = (e as? HTTPError)?.body ?? e.status.reasonPhrase
            if e.status == .contentTooLarge { message = "request body over \(context.maxUploadSize) bytes" }
            throw APIError(e.status, code, message)
        }
    }
}
