import Foundation
import Hummingbird

/// Reading request bodies within a size and a time limit.
enum RequestBody {
    /// Largest body of an ordinary request (JSON batches, commands, labels).
    static let maxBytes = 2 << 20
    /// Largest body of `cycle/start` (metadata only).
    static let maxCommandBytes = 64 << 10
    /// Time a client has to send a whole body (a slow sender holds a connection no longer).
    static let timeout: Duration = .seconds(30)

    /// The body, or 413 naming `limit`, or 408 when it does not arrive within `timeout`.
    static func collect(_ request: Request, limit: Int, timeout: Duration = Self.timeout) async throws -> ByteBuffer {
        let body = request.body
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await body.collect(upTo: limit)
                } catch let e as HTTPResponseError where e.status == .contentTooLarge {
                    throw APIError(.contentTooLarge, "body_too_large", "request body over \(Self.describe(limit)); this route takes at most \(Self.describe(limit))")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                var e = APIError(.requestTimeout, "body_timeout", "the request body did not arrive within \(timeout.components.seconds) s")
                e.headers[.connection] = "close"
                throw e
            }
            return buffer
        }
    }

    /// "2 MiB", "64 KiB", "300 bytes".
    static func describe(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
