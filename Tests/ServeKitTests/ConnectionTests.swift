import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Testing
@testable import ServeKit

/// A live server with small connection limits, for what only a real socket can do.
func withGuardedServer(_ configure: (inout ServerSettings) -> Void = { _ in },
                       _ body: @escaping @Sendable (ServerParts, String, Int, String) async throws -> Void) async throws {
    let dir = DataDir()
    var s = settings(dir)
    s.port = 0
    configure(&s)
    let parts = try await makeServerParts(s, logger: .init(label: "test"))
    let stream = try await parts.live.register(json: registerBody).streamID
    let app = try await buildApplication(s, parts: parts)
    let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    try await app.test(.live) { client in
        try await body(parts, stream, try #require(client.port), token)
    }
}

func upgradeHead(_ path: String, authorization: String? = nil) -> String {
    "GET \(path) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + (authorization.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "\r\n"
}

@Suite(.serialized) struct ConnectionTests {
    @Test func aHalfSentHeadIsClosedWith408AfterTheHeaderTimeout() async throws {
        try await withGuardedServer({ $0.connections.headerTimeout = .seconds(1) }) { _, _, port, _ in
            let slow = try RawSocket(port: port, timeout: 4)
            slow.send("POST /api/live/batch HTTP/1.1\r\nHost: x\r\n")
            let started = Date()
            let answer = parseRaw(await slow.readAll())
            #expect(answer.status == 408, "\(answer)")
            #expect((answer.body["error"] as? [String: Any])?["code"] as? String == "header_timeout")
            #expect(Date().timeIntervalSince(started) < 3.5)
        }
    }

    @Test func aHugeHeadGets431NotSilence() async throws {
        try await withGuardedServer { _, _, port, _ in
            let s = try RawSocket(port: port)
            s.send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 100_000))\r\n\r\n")
            let answer = parseRaw(await s.readAll())
            #expect(answer.status == 431, "\(answer.status) \(answer.headers)")
            #expect((answer.body["error"] as? [String: Any])?["code"] as? String == "header_too_large")
            // And a plain request on a new connection is still answered.
            let ok = try RawSocket(port: port)
            ok.send("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(parseRaw(await ok.readAll()).status == 200)
        }
    }

    @Test func connectionsOverTheCapGet503AndTheServerStaysUp() async throws {
        try await withGuardedServer({ $0.connections.maxConnections = 8 }) { parts, _, port, _ in
            let held = try (0..<8).map { _ in try RawSocket(port: port, timeout: 2) }
            for h in held { h.send("GET /api/health HTTP/1.1\r\nHost: x\r\n") }
            try await Task.sleep(for: .milliseconds(200))
            let extra = try RawSocket(port: port, timeout: 3)
            let refused = parseRaw(await extra.readAll())
            #expect(refused.status == 503, "\(refused)")
            #expect((refused.body["error"] as? [String: Any])?["code"] as? String == "too_many_connections")
            let rejected = parts.metrics.exposition().split(separator: "\n").first { $0.hasPrefix("vertac_connections_rejected_total ") }
            #expect((rejected.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) >= 1, "\(rejected ?? "none")")
            withExtendedLifetime(held) {}
            // Once they go, places are free again.
            for h in held { shutdown(h.fd, Int32(SHUT_RDWR)) }
            try await Task.sleep(for: .milliseconds(300))
            let later = try RawSocket(port: port)
            later.send("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(parseRaw(await later.readAll()).status == 200)
        }
    }

    @Test func refusedUpgradesGetTheJSONErrorsOfHTTP() async throws {
        try await withGuardedServer { parts, stream, port, admin in
            let ingest = try await Tokens.create(in: parts.store, scope: .ingest, name: "edge", now: 0).0
            let cases: [(String, String?, Int, String)] = [
                ("/api/live/ws/stream/\(stream)", nil, 401, "unauthorized"),
                ("/api/live/ws/stream/\(stream)", "wrong-token", 401, "unauthorized"),
                ("/api/v1/live", ingest, 403, "forbidden"),
                ("/api/live/ws/stream/nope", admin, 404, "unknown_stream"),
            ]
            for (path, token, status, code) in cases {
                let s = try RawSocket(port: port)
                s.send(upgradeHead(path, authorization: token))
                let answer = parseRaw(await s.readAll())
                #expect(answer.status == status, "\(path) \(token ?? "-"): \(answer.status) \(answer.headers)")
                #expect((answer.body["error"] as? [String: Any])?["code"] as? String == code, "\(path): \(answer.body)")
                #expect(answer.headers.lowercased().contains("content-type: application/json"))
            }
            // With the right token the upgrade goes through.
            let s = try RawSocket(port: port)
            s.send(upgradeHead("/api/live/ws/stream/\(stream)", authorization: ingest))
            #expect(await s.readSome().hasPrefix("HTTP/1.1 101"))
        }
    }
}

@Suite struct WebSocketLimitTests {
    @Test func framesUpTo1MiBAreTakenAndASocketFloodIsRateLimited() async throws {
        let dir = DataDir()
        var s = settings(dir)
        s.port = 0
        s.rateLimit = (rate: 50, burst: 100)
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let stream = try await parts.live.register(json: registerBody).streamID
        let app = try await buildApplication(s, parts: parts)
        try await testApp(app, dir, .live) { client in
            try await client.ws("/api/live/ws/stream/\(stream)", configuration: .init(maxFrameSize: 2 << 20, additionalHeaders: authHeaders())) { inbound, outbound, _ in
                let messages = JSONMessages(inbound)
                // ~300 KiB: the shipped edge's --batch-rows 300 of wide rows.
                let rows = (0..<6_000).map { #"{"timestamp": \#(1 + $0), "values": [\#(Double($0) * 0.123456789), 2.000000001]}"# }
                let batch = #"{"rows": [\#(rows.joined(separator: ","))]}"#
                #expect(batch.utf8.count > 300_000)
                try await outbound.write(.text(batch))
                let ack = try await messages.next(ofType: "ack")
                #expect((ack["data"] as? [String: Any])?["rows_stored"] as? Int == 6_000)
                let started = Date()
                for _ in 0..<400 { try await outbound.write(.text("ping")) }
                var pongs = 0, limited = 0
                while pongs + limited < 400 {
                    let m = try await messages.next()
                    if m.isEmpty { break }  // closed for the flood (1008)
                    if m["type"] as? String == "pong" { pongs += 1 }
                    if (m["data"] as? [String: Any])?["code"] as? String == "rate_limited" { limited += 1 }
                }
                let refill = 50 * Date().timeIntervalSince(started)
                #expect(limited > 0, "no ping was refused")
                #expect(Double(pongs) <= 100 + refill + 1, "\(pongs) pings answered with a burst of 100 and \(refill) refilled")
            }
        }
    }
}

@Suite struct LiveHubBacklogTests {
    /// A subscriber that never takes its messages is dropped once they pass the byte bound,
    /// however few they are.
    @Test func aSubscriberThatDoesNotReadIsDroppedByBytes() async throws {
        let hub = LiveHub()
        let dropped = Backlog(onDrop: {})
        let (_, messages, backlog) = await hub.subscribe(streams: nil) { dropped.markDropped() }
        let big = Push.samples(sensors: [String(repeating: "x", count: 512 << 10)], rows: [])
        for _ in 0..<7 { await hub.publish(big, stream: "s") }
        #expect(await hub.count == 1)
        #expect(backlog.pendingBytes > 3 << 20)
        await hub.publish(big, stream: "s")
        await hub.publish(big, stream: "s")
        #expect(await hub.count == 0)
        #expect(backlog.dropped && dropped.dropped)
        withExtendedLifetime(messages) {}
    }
}
