import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// Sends the outbox to a VerTac server in order: batches to `POST /api/live/batch` (each with a
/// `batch_id`, so a retry is never stored twice), cycle events to `POST /api/live/cycle/…`.
/// Connection failures, 5xx, 429 and 503 are retried with exponential backoff (honouring
/// `Retry-After`); other refusals are set aside in the buffer's dead-letter table and logged.
public actor Uploader {
    let server: URL
    let token: String?
    let buffer: EdgeBuffer
    let logger: Logger
    let session: URLSession
    /// Backoff bounds, seconds.
    let minDelay: Double, maxDelay: Double
    public private(set) var sent = 0
    public private(set) var retries = 0
    /// The transport used last: `websocket` or `http`.
    public internal(set) var transport = "http"
    var socketOpened = false

    func countSent() { sent += 1 }
    func countRetry() { retries += 1 }

    public init(server: URL, token: String?, buffer: EdgeBuffer, logger: Logger = Logger(label: "vertac-edge"),
                minDelay: Double = 0.1, maxDelay: Double = 10) {
        self.server = server
        self.token = token
        self.buffer = buffer
        self.logger = logger
        self.minDelay = minDelay
        self.maxDelay = maxDelay
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 10
        session = URLSession(configuration: config)
    }

    /// A request with the token.
    func request(_ method: String, _ path: String, body: String?) -> URLRequest {
        var r = URLRequest(url: URL(string: path, relativeTo: server)!)
        r.httpMethod = method
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            r.httpBody = Data(body.utf8)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return r
    }

    /// Sends once; nil status means the server was not reached.
    func send(_ r: URLRequest) async -> (status: Int?, retryAfter: Double?, body: Data) {
        do {
            let (data, response) = try await session.data(for: r)
            let http = response as? HTTPURLResponse
            return (http?.statusCode, http?.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init), data)
        } catch {
            return (nil, nil, Data())
        }
    }

    /// Registers the stream (once per buffer: the id is kept for edge restarts).
    public func register(deviceName: String, sensors: [(name: String, unit: String?)]) async throws -> String {
        if let id = try buffer.meta("stream_id") { return id }
        let body = try JSONSerialization.data(withJSONObject: [
            "device_name": deviceName, "sensor_count": sensors.count,
            "sensors": sensors.map { ["name": $0.name, "unit": $0.unit ?? "", "type": "analog"] },
        ])
        var delay = minDelay
        while true {
            let (status, retryAfter, data) = await send(request("POST", "api/live/register", body: String(decoding: body, as: UTF8.self)))
            if status == 200, let id = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["stream_id"] as? String {
                try buffer.setMeta("stream_id", id)
                return id
            }
            if let status, status < 500, status != 429 {
                throw UploadError(message: "registration refused (\(status)): \(String(decoding: data, as: UTF8.self))")
            }
            try await Task.sleep(for: .seconds(retryAfter ?? delay))
            delay = min(maxDelay, delay * 2)
        }
    }

    /// Sends everything in the outbox, oldest first; returns when it is empty.
    public func drain(stream: String) async throws {
        var delay = minDelay
        while let item = try buffer.first() {
            try Task.checkCancellation()
            let r: URLRequest
            if item.kind == "batch" {
                r = request("POST", "api/live/batch", body: item.body)
            } else {
                r = request("POST", "api/live/cycle/\(item.kind)?stream_id=\(stream)", body: item.body.isEmpty ? nil : item.body)
            }
            let (status, retryAfter, data) = await send(r)
            switch status {
            case 200?:
                try buffer.remove(item.seq)
                sent += 1
                delay = minDelay
            case 409? where item.kind != "batch":
                // A cycle event the server already applied before an outage (e.g. start while ACTIVE).
                logger.info("cycle event already applied", metadata: ["event": "\(item.kind)"])
                try buffer.remove(item.seq)
            case let s? where s < 500 && s != 429 && s != 408:
                let reason = String(decoding: data, as: UTF8.self)
                logger.error("server refused an item; set aside", metadata: ["status": "\(s)", "reason": "\(reason)"])
                try buffer.bury(item, reason: "\(s): \(reason)")
            default:
                retries += 1
                try await Task.sleep(for: .seconds(retryAfter ?? delay))
                delay = min(maxDelay, delay * 2)
            }
        }
    }
}

public struct UploadError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
