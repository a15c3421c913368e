import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vertac-edge watch`: prints what the server reports, as it happens.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print per-sensor state changes, maintenance events and cycle health scores as the server reports them.",
        discussion: "Polls the review API (an engineer or admin token). With --until-cycles N it exits once N cycles have reports."
    )

    @Option(help: "Server base URL.") var server = "http://127.0.0.1:8080"
    @Option(help: "API token with the engineer scope (default: $VERTAC_TOKEN).") var token: String?
    @Option(help: "Seconds between polls.") var interval = 0.5
    @Option(help: "Exit once this many cycles have a health score (0: run until interrupted).") var untilCycles = 0
    @Option(help: "Give up after this many seconds (0: never).") var timeout = 0.0

    func get(_ path: String) async throws -> [String: Any] {
        var r = URLRequest(url: URL(string: server + path)!)
        if let t = token ?? ProcessInfo.processInfo.environment["VERTAC_TOKEN"] { r.setValue("Bearer \(t)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: r)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw ValidationError("\(path): HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0) \(String(decoding: data, as: UTF8.self))")
        }
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func run() async throws {
        var seenTransitions = Set<String>(), seenEvents = Set<String>(), seenCycles = Set<String>()
        let started = Date()
        var reported = 0
        while untilCycles == 0 || reported < untilCycles {
            if timeout > 0, Date().timeIntervalSince(started) > timeout { throw ValidationError("timed out after \(Int(timeout)) s with \(reported) cycle report(s)") }
            for s in (try await get("/api/v1/streams")["streams"] as? [[String: Any]]) ?? [] {
                guard let id = s["id"] as? String else { continue }
                let device = s["device_name"] as? String ?? id
                let transitions = (try await get("/api/v1/streams/\(id)/transitions?limit=200")["transitions"] as? [[String: Any]]) ?? []
                for t in transitions.reversed() {
                    let key = "\(id)|\(t["time"] ?? "")|\(t["sensor"] ?? "")|\(t["to"] ?? "")"
                    guard seenTransitions.insert(key).inserted else { continue }
                    print("[\(t["time"] ?? "")] \(device) sensor \(t["sensor"] ?? "?"): \(t["from"] ?? "?") → \(t["to"] ?? "?") (\(t["reason"] ?? ""))")
                }
                for c in ((try await get("/api/v1/streams/\(id)/cycles")["cycles"] as? [[String: Any]]) ?? []).reversed() {
                    guard let cid = c["id"] as? String, let health = c["health_score"] as? Double, seenCycles.insert(cid).inserted else { continue }
                    reported += 1
                    let source = (c["metadata"] as? [String: String])?["source"].map { " (\($0))" } ?? ""
                    print("\(device) cycle \(c["number"] ?? "?")\(source) \(c["state"] ?? ""): health \(String(format: "%.1f", health)), \(c["severity"] ?? "?")")
                }
            }
            for e in ((try await get("/api/v1/events")["events"] as? [[String: Any]]) ?? []).reversed() {
                guard let eid = e["id"] as? String, seenEvents.insert(eid).inserted else { continue }
                print("maintenance event \(e["severity"] ?? "?") on \(e["sensor"] ?? "?"): \(e["reason"] ?? "")")
            }
            try await Task.sleep(for: .seconds(interval))
        }
        print("\(reported) cycle report(s), \(seenEvents.count) maintenance event(s), \(seenTransitions.count) sensor state change(s)")
    }
}
