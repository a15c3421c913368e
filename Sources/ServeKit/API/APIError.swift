import Foundation
import HTTPTypes
import Hummingbird

/// An error meant for the client: a 4xx (or 503) status with
/// `{"error": {"code": "…", "message": "…"}}`. Anything else becomes a logged 500.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    /// A stable, machine-readable code such as `unknown_stream`.
    let code: String
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    var description: String { "\(status.code) \(code): \(message)" }

    struct Body: Encodable {
        struct Inner: Encodable { let code: String, message: String }
        let error: Inner
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(Body(error: .init(code: code, message: message)))
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A service's refusal as the API answers it: its code and message, the status its code
    /// stands for.
    init(_ e: ServiceError) {
        self.init(Self.status(of: e.code), e.code.rawValue, e.message)
        if let wait = e.retryAfter { headers[.retryAfter] = "\(wait)" }
    }

    /// The HTTP status of each service error code.
    static func status(of code: ServiceError.Code) -> HTTPResponse.Status {
        switch code {
        case .badRequest: .badRequest
        case .tooManySamples, .tooManyRows, .tooManySensors: .contentTooLarge
        case .wrongRowLength, .noValueYet, .unknownSensor, .invalidModel: .unprocessableContent
        case .unknownStream, .unknownModel, .unknownEvent, .unknownToken: .notFound
        case .timestampBackwards, .invalidCycleEvent, .invalidEventTransition, .sensorMismatch, .nothingToRollBack, .lastAdminToken: .conflict
        case .busy, .notOwner: .serviceUnavailable
        case .modelReaderUnavailable, .cannotWrite: .internalServerError
        }
    }

    /// Any error as a client sees it: an ``APIError`` as it is, a ``ServiceError`` mapped, and
    /// anything else as `internal` (the caller logs it).
    static func from(_ error: Error) -> APIError? {
        if let e = error as? APIError { return e }
        if let e = error as? ServiceError { return APIError(e) }
        if let e = error as? FenceRefused { return APIError(e.asServiceError) }
        return nil
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func notFound(_ code: String, _ message: String) -> APIError { APIError(.notFound, code, message) }
    static func conflict(_ code: String, _ message: String) -> APIError { APIError(.conflict, code, message) }
    static func unprocessable(_ code: String, _ message: String) -> APIError { APIError(.unprocessableContent, code, message) }
}

/// Every error leaves as `{"error": {"code", "message"}}`: Hummingbird's own client errors (too
/// large a body, no route) in that shape, a full disk as 507 (nothing was stored; the client
/// keeps its data and retries), and anything else as a logged 500 — never an empty body.
struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as ServiceError {
            throw APIError(e)
        } catch let e as FenceRefused {
            // The stream changed hands while this command ran: the client retries (and reaches
            // the new owner).
            throw APIError(e.asServiceError)
        } catch let e as HTTPResponseError where e.status.code < 500 {
            let code = e.status == .contentTooLarge ? "body_too_large" : e.status == .notFound ? "not_found" : "bad_request"
            var message = (e as? HTTPError)?.body ?? e.status.reasonPhrase
            if e.status == .contentTooLarge { message = "request body over \(RequestBody.describe(context.maxUploadSize))" }
            throw APIError(e.status, code, message)
        } catch is CancellationError {
            throw APIError(.serviceUnavailable, "shutting_down", "the server is stopping; retry shortly")
        } catch {
            if StorageFull.matches(error) {
                context.logger.error("storage full", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                var e = APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"), "storage_full", "the server's storage is full: nothing was stored; retry later")
                e.headers[.retryAfter] = "60"
                throw e
            }
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "internal", "the server could not complete the request; the error is in its log")
        }
    }
}

/// Recognises "the disk is full" from either store.
enum StorageFull {
    static func matches(_ error: Error) -> Bool {
        if let pg = error as? PGError { return pg.sqlState == "53100" }
        let text = "\(error)"
        return text.contains("SQLITE_FULL") || text.contains("database or disk is full") || text.contains("No space left on device")
    }
}
