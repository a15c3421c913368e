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

/// Checks on text that clients name things with (devices, sensors, batch ids, metadata).
enum TextField {
    /// Throws 400 unless `value` is 1…`maxLength` characters without control characters (NUL
    /// among them: C strings in drivers and logs would cut the text there, and a cut batch id
    /// would make a later batch look like a retry).
    /// `prose` (engineers' notes) also allows line breaks and tabs.
    static func check(_ value: String, _ field: String, maxLength: Int = 256, allowEmpty: Bool = false, prose: Bool = false) throws {
        guard allowEmpty || !value.isEmpty else { throw APIError.badRequest("\(field) is empty") }
        guard value.count <= maxLength else { throw APIError.badRequest("\(field) is longer than \(maxLength) characters") }
        let layout: Set<Unicode.Scalar> = prose ? ["\n", "\r", "\t"] : []
        if let bad = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control && !layout.contains($0) }) {
            throw APIError.badRequest("\(field) contains the control character U+\(String(format: "%04X", bad.value))")
        }
    }

    /// Cycle metadata: at most 64 entries, keys up to 128 and values up to 1,024 characters.
    static func checkMetadata(_ m: [String: String]) throws {
        guard m.count <= 64 else { throw APIError.badRequest("metadata has \(m.count) entries; at most 64") }
        for (k, v) in m {
            try check(k, "metadata key", maxLength: 128)
            try check(v, "metadata[\"\(k.prefix(40))\"]", maxLength: 1_024, allowEmpty: true)
        }
    }
}
