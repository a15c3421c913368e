import Foundation
import HTTPTypes
import NIOCore

/// A complete HTTP/1.1 answer written as bytes, for the moments before the HTTP codec has a
/// request (a connection over the cap, a head that is too slow or too large, a refused
/// WebSocket upgrade). Same JSON error shape and security headers as every other answer.
enum RawResponse {
    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Int? = nil) -> ByteBuffer {
        struct Body: Encodable {
            struct Inner: Encodable { let code: String, message: String }
            let error: Inner
        }
        let body = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message)))) ?? Data("{}".utf8)
        var head = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        if let retryAfter { head += "Retry-After: \(retryAfter)\r\n" }
        if status == .unauthorized { head += "WWW-Authenticate: Bearer\r\n" }
        for field in SecurityHeadersMiddleware<VertacRequestContext>.headers { head += "\(field.name): \(field.value)\r\n" }
        head += "\r\n"
        var buffer = ByteBuffer(string: head)
        buffer.writeBytes(body)
        return buffer
    }
}
