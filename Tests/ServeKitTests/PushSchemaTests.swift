import Foundation
import Inference
import Simulation
import Testing
@testable import ServeKit

/// The subset of JSON Schema (2020-12) that `docs/push.schema.json` uses: `$ref` to `#/$defs/…`,
/// `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `oneOf`,
/// `minimum`, `maximum`, `exclusiveMinimum`, `minLength`, `maxItems` and `pattern`. An unknown
/// keyword is an error, so the schema cannot outgrow the check silently.
struct SchemaValidator: @unchecked Sendable {
    let root: [String: Any]

    init(file: String) throws {
        root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
    }

    /// Problems of `value` against the root schema; empty when it conforms.
    func problems(_ value: Any) -> [String] { check(value, root, at: "$") }

    private static let known: Set<String> = ["$schema", "$id", "$ref", "$defs", "title", "description", "type", "properties", "required",
                                             "additionalProperties", "items", "enum", "const", "oneOf", "minimum", "maximum",
                                             "exclusiveMinimum", "minLength", "maxItems", "pattern"]

    private func check(_ v: Any, _ schema: [String: Any], at path: String) -> [String] {
        var out: [String] = []
        if let unknown = schema.keys.first(where: { !Self.known.contains($0) }) { return ["\(path): schema keyword \(unknown) not supported"] }
        if let ref = schema["$ref"] as? String {
            guard ref.hasPrefix("#/$defs/"), let defs = root["$defs"] as? [String: Any],
                  let target = defs[String(ref.dropFirst("#/$defs/".count))] as? [String: Any] else { return ["\(path): bad $ref \(ref)"] }
            out += check(v, target, at: path)
        }
        if let type = schema["type"] as? String, !Self.has(v, type: type) { return out + ["\(path): not \(type): \(v)"] }
        if let c = schema["const"], !Self.equal(v, c) { out.append("\(path): \(v) is not \(c)") }
        if let e = schema["enum"] as? [Any], !e.contains(where: { Self.equal(v, $0) }) { out.append("\(path): \(v) not in \(e)") }
        if let n = Self.number(v) {
            if let m = schema["minimum"] as? Double, n < m { out.append("\(path): \(n) < \(m)") }
            if let m = schema["maximum"] as? Double, n > m { out.append("\(path): \(n) > \(m)") }
            if let m = schema["exclusiveMinimum"] as? Double, n <= m { out.append("\(path): \(n) ≤ \(m)") }
        }
        if let s = v as? String {
            if let m = schema["minLength"] as? Int, s.count < m { out.append("\(path): shorter than \(m)") }
            if let p = schema["pattern"] as? String, s.range(of: p, options: .regularExpression) == nil { out.append("\(path): \(s) does not match \(p)") }
        }
        if let a = v as? [Any] {
            if let m = schema["maxItems"] as? Int, a.count > m { out.append("\(path): more than \(m) items") }
            if let items = schema["items"] as? [String: Any] {
                for (k, x) in a.enumerated() { out += check(x, items, at: "\(path)[\(k)]") }
            }
        }
        if let o = v as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for r in schema["required"] as? [String] ?? [] where o[r] == nil { out.append("\(path): missing \(r)") }
            for (k, x) in o {
                if let p = properties[k] as? [String: Any] {
                    out += check(x, p, at: "\(path).\(k)")
                } else if let extra = schema["additionalProperties"] {
                    if let allowed = extra as? Bool, !allowed, schema["properties"] != nil { out.append("\(path): unexpected \(k)") }
                    if let s = extra as? [String: Any] { out += check(x, s, at: "\(path).\(k)") }
                }
            }
        }
        if let branches = schema["oneOf"] as? [[String: Any]] {
            let matching = branches.filter { check(v, $0, at: path).isEmpty }.count
            if matching != 1 { out.append("\(path): matches \(matching) of the oneOf branches, not exactly 1") }
        }
        return out
    }

    private static func has(_ v: Any, type: String) -> Bool {
        switch type {
        case "object": return v is [String: Any]
        case "array": return v is [Any]
        case "string": return v is String
        case "boolean": return isBool(v)
        case "number": return number(v) != nil
        case "integer": return number(v).map { $0 == $0.rounded() } ?? false
        case "null": return v is NSNull
        default: return false
        }
    }

    /// JSONSerialization's booleans (a number would also cast to Bool).
    private static func isBool(_ v: Any) -> Bool {
        let t = String(describing: type(of: v))
        return t == "__NSCFBoolean" || t == "Bool"
    }

    private static func number(_ v: Any) -> Double? {
        guard !isBool(v), let n = v as? NSNumber else { return nil }
        return n.doubleValue
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = number(a), let y = number(b) { return x == y }
        return false
    }
}

let pushSchemaPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("docs/push.schema.json").path

@Suite struct PushSchemaTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static let examples: [Push] = [
        .samples(sensors: ["a", "b"], rows: [SampleRow(time: 1_767_225_600.25, values: [1, 2.5], cycleID: "c1")]),
        .signal(SignalUpdate(sensors: ["a"], bucket: 0.05, cycleID: "c1",
                             points: [SignalDecimator.Point(t: 1_767_225_600, n: 3, min: [0], max: [2], mean: [1])])),
        .cycleState(from: .waitingStart, to: .active, cycleID: "c1", time: 1_767_225_600, reason: "cycle_start"),
        .sensorState(sensor: "a", from: .normal, to: .warning, time: 1_767_225_601, reason: "3 windows above threshold"),
        .windowScores(WindowScores(time: 1_767_225_601, score: 0.4, windows: 7, sensorScores: ["a": 0.3, "b": 1.2], modelID: "m1")),
        .cycleReport(CycleReportSummary(cycleID: "c1", modelID: "m1", sensors: ["a", "b"], healthScore: 72.5, severity: .warning,
                                        anomalous: true, topSensors: ["b"], stopCause: nil)),
        .maintenanceEvent(MaintenanceEvent(id: MaintenanceEvent.makeID(stream: "s", sensor: "b", time: 1), stream: "s", sensor: "b",
                                           severity: .high, openedAt: 1, updatedAt: 2, reason: "critical for 5 windows",
                                           evidence: SensorEvidence(time: 1, error: 0.2, errorThreshold: 0.1, dtwDeviation: 0, dtwThreshold: 1, score: 2),
                                           topSensors: [SensorContribution(sensor: "b", score: 2)], estimatedCost: 120)),
    ]

    /// One example of every push conforms, under the review feed's names; a broken copy of each
    /// (a field removed, a field added) does not — so the check can fail.
    @Test func everyPushConformsToTheSchemaAndBrokenOnesDoNot() throws {
        let schema = try SchemaValidator(file: pushSchemaPath)
        var types = Set<String>()
        for push in Self.examples {
            let m = try Self.object(try #require(push.json(stream: "s1", time: 1_767_225_600, legacy: false)))
            let problems = schema.problems(m)
            #expect(problems.isEmpty, "\(push.type): \(problems)")
            types.insert(try #require(m["type"] as? String))
            var data = try #require(m["data"] as? [String: Any])
            var extra = m
            data["unexpected"] = 1
            extra["data"] = data
            #expect(!schema.problems(extra).isEmpty, "\(push.type) with an extra field passed")
            var missing = m
            missing["timestamp"] = nil
            #expect(!schema.problems(missing).isEmpty, "\(push.type) without timestamp passed")
        }
        #expect(types.count == Self.examples.count)
        for reply in [FeedReply.subscribed(.init(streams: .all, events: true, samples: false, signal: true)),
                      FeedReply.subscribed(.init(streams: .count(2), events: false, samples: true, signal: false)),
                      FeedReply.error(code: "bad_request", message: "send …")] {
            let problems = schema.problems(try Self.object(reply))
            #expect(problems.isEmpty, "\(reply): \(problems)")
        }
    }

    /// VerTac's legacy socket gets VerTac's names and its `kind` field; the data is otherwise the same.
    @Test func legacyNamesOnlyOnTheLegacySocket() throws {
        for push in Self.examples {
            let native = try Self.object(try #require(push.json(stream: "s1", time: 0, legacy: false)))
            let legacy = try Self.object(try #require(push.json(stream: "s1", time: 0, legacy: true)))
            #expect(!["state_change", "analysis_result"].contains(native["type"] as? String))
            var data = try #require(legacy["data"] as? [String: Any])
            switch push {
            case .cycleState, .sensorState:
                #expect(legacy["type"] as? String == "state_change")
                #expect(data.removeValue(forKey: "kind") as? String == (push.type == "cycle_state" ? "cycle" : "sensor"))
            case .windowScores, .cycleReport:
                #expect(legacy["type"] as? String == "analysis_result")
            default:
                #expect(legacy["type"] as? String == native["type"] as? String)
            }
            // Same data: compared as canonical JSON text.
            let nativeData = try #require(native["data"] as? [String: Any])
            func canonical(_ o: [String: Any]) throws -> String {
                String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
            }
            #expect(try canonical(data) == canonical(nativeData), "\(push.type)")
        }
    }

    /// What the server really pushes over a normal and a faulty pump cycle: every review-feed
    /// message conforms; the legacy subscriber of the stream gets the same messages under
    /// VerTac's names.
    @Test func whatThePipelinePushesConforms() async throws {
        let schema = try SchemaValidator(file: pushSchemaPath)
        let pushed = Collected()
        try await withPumpServer { client, parts, clock, stream in
            let (feedID, feed, _) = await parts.hub.subscribe(streams: nil, events: true)
            let (legacyID, legacyFeed, _) = await parts.hub.subscribe(streams: [stream], legacy: true)
            let sim = MachineSimulator(seed: 2)
            try await PipelineTests.stream(sim.cycle(0), stream, client, clock, parts, t0: 1000)
            try await PipelineTests.stream(sim.cycle(1, fault: .drift(sensor: "outlet_pressure", amount: 0.6)), stream, client, clock, parts, t0: 2000)
            await parts.hub.unsubscribe(feedID)
            await parts.hub.unsubscribe(legacyID)
            await pushed.drain(feed, legacy: false)
            await pushed.drain(legacyFeed, legacy: true)
        }
        var counts: [String: Int] = [:]
        for text in await pushed.feed {
            let m = try Self.object(text)
            counts[m["type"] as? String ?? "?", default: 0] += 1
            let problems = schema.problems(m)
            #expect(problems.isEmpty, "\(problems.prefix(3))")
        }
        for kind in ["samples", "cycle_state", "sensor_state", "window_scores", "cycle_report", "maintenance_event"] {
            #expect(counts[kind, default: 0] > 0, "no \(kind) pushed: \(counts)")
        }
        var legacy: [String: Int] = [:]
        for text in await pushed.legacy { legacy[try Self.object(text)["type"] as? String ?? "?", default: 0] += 1 }
        #expect(legacy["state_change"] == counts["cycle_state", default: 0] + counts["sensor_state", default: 0])
        #expect(legacy["analysis_result"] == counts["window_scores", default: 0] + counts["cycle_report", default: 0])
        #expect(legacy["cycle_state"] == nil && legacy["window_scores"] == nil)
    }
}

/// Messages taken from hub subscriptions.
actor Collected {
    var feed: [String] = [], legacy: [String] = []
    func drain(_ messages: AsyncStream<String>, legacy isLegacy: Bool) async {
        for await m in messages {
            if isLegacy { legacy.append(m) } else { feed.append(m) }
        }
    }
}
