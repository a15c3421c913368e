import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import NIOCore

extension HTTPField.Name {
    /// On a request one server forwarded to another: it is not forwarded again (the owner
    /// changed meanwhile: the client gets `not_owner` and retries).
    static let vertacForwarded = Self("X-VerTac-Forwarded")!
    /// On an answer that came from another server: the address of the server that gave it.
    static let vertacServedBy = Self("X-VerTac-Served-By")!
}

/// In a cluster (`docs/scale-out.md`): a command for a stream another server owns is sent on to
/// that server with the client's own credentials, and its answer goes back unchanged — so any
/// request may reach any server. Installed on the routes whose commands go through a stream's
/// owner, only when the server is in a cluster.
struct ForwardToOwner<Context: RequestContext>: RouterMiddleware {
    /// How long the owner has to answer.
    static var timeout: TimeInterval { 10 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[.vertacForwarded] == nil else { return try await next(request, context) }
        // The body is kept, so that it can go to the owner after the handler read it.
        let buffer = try await RequestBody.collect(request, limit: RequestBody.maxBytes)
        var buffered = request
        buffered.body = Hummingbird.RequestBody(buffer: buffer)
        do {
            return try await next(buffered, context)
        } catch let e as ServiceError where e.code == .notOwner && e.ownerAddress != nil {
            return try await Self.forward(buffered, body: buffer, to: e.ownerAddress!, refusal: e)
        }
    }

    /// Sends the request to `address` and relays its answer; when the owner cannot be reached,
    /// the client gets the original `not_owner` refusal (and retries).
    static func forward(_ request: Request, body: ByteBuffer, to address: String, refusal: ServiceError) async throws -> Response {
        guard let url = URL(string: address + request.uri.description) else { throw refusal }
        var forwarded = URLRequest(url: url, timeoutInterval: timeout)
        forwarded.httpMethod = request.method.rawValue
        for name in [HTTPField.Name.authorization, .contentType, .accept] {
            if let value = request.headers[name] { forwarded.setValue(value, forHTTPHeaderField: name.rawName) }
        }
        forwarded.setValue("1", forHTTPHeaderField: HTTPField.Name.vertacForwarded.rawName)
        forwarded.httpBody = Data(buffer: body)
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: forwarded)
        } catch {
            throw refusal
        }
        guard let http = response as? HTTPURLResponse else { throw refusal }
        var headers = HTTPFields()
        for name in [HTTPField.Name.contentType, .retryAfter] {
            if let value = http.value(forHTTPHeaderField: name.rawName) { headers[name] = value }
        }
        headers[.vertacServedBy] = address
        return Response(status: .init(code: http.statusCode), headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
