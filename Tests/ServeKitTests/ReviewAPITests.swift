import Foundation
import Hummingbird
import HummingbirdTesting
import Inference
import Simulation
import Testing
import TrainerKit
@testable import ServeKit

@Suite(.serialized) struct ReviewAPITests {
    /// An engineer acknowledges an event with a note; the fault goes on and the event escalates:
    /// it stays acknowledged, by the same engineer, with the note, and its notes keep a history.
    @Test func acknowledgementOutlastsEscalation() async throws {
        try await withPumpServer { client, parts, clock, stream in
            let c = MachineSimulator(seed: 2).cycle(1, fault: .drift(sensor: "outlet_pressure", amount: 3))
            #expect(try await client.json(.post, "/api/live/cycle/start?stream_id=\(stream)").status == .ok)
            var acknowledged: (id: String, severity: String)?
            for k in 0..<c.rows {
                try await PipelineTests.send(c, row: k, at: 1000 + c.times[k], stream, parts)
                clock.advance(1)
                await parts.pipeline.flush()
                guard acknowledged == nil else { continue }
                let open = try #require(try await client.json(.get, "/api/v1/events?status=open&stream_id=\(stream)").body["events"] as? [[String: Any]])
                guard let e = open.first, let id = e["id"] as? String else { continue }
                let ack = try await client.json(.post, "/api/v1/events/\(id)/acknowledge", #"{"by": "ana", "note": "checking the valve"}"#)
                #expect(ack.status == .ok && ack.body["status"] as? String == "ACKNOWLEDGED")
                acknowledged = (id, e["severity"] as? String ?? "")
            }
            let (id, severity) = try #require(acknowledged, "the fault opened no event")
            let events = try #require(try await client.json(.get, "/api/v1/events?stream_id=\(stream)").body["events"] as? [[String: Any]])
            let e = try #require(events.first { $0["id"] as? String == id })
            #expect(severity == "HIGH" && e["severity"] as? String == "CRITICAL", "opened \(severity), now \(e["severity"] ?? "?")")
            #expect(e["status"] as? String == "ACKNOWLEDGED" && e["acknowledgedBy"] as? String == "ana" && e["note"] as? String == "checking the valve")

            // Notes: a history, oldest first, next to the event's own fields.
            let noted = try await client.json(.post, "/api/v1/events/\(id)/notes", #"{"by": "bo", "note": "valve ordered"}"#)
            #expect(noted.status == .ok && noted.body["note"] as? String == "valve ordered" && noted.body["status"] as? String == "ACKNOWLEDGED")
            let resolved = try await client.json(.post, "/api/v1/events/\(id)/resolve", #"{"by": "ana", "resolution": "fixed", "note": "valve replaced"}"#)
            let notes = try #require(resolved.body["notes"] as? [[String: Any]])
            #expect(notes.map { $0["author"] as? String } == ["ana", "bo", "ana"])
            #expect(notes.map { $0["note"] as? String } == ["checking the valve", "valve ordered", "valve replaced"])
            #expect(notes.allSatisfy { ($0["at"] as? String).flatMap(Timestamp.parse) != nil })
            #expect(resolved.body["acknowledgedBy"] as? String == "ana" && resolved.body["resolvedBy"] as? String == "ana")
            #expect(try await client.json(.post, "/api/v1/events/\(id)/notes", #"{"note": ""}"#).status == .badRequest)
            // Notes are prose: line breaks and tabs are kept; NUL and other control characters are refused.
            let lines = try await client.json(.post, "/api/v1/events/\(id)/notes", #"{"by": "bo", "note": "1. valve\n2.\tseal"}"#)
            #expect(lines.status == .ok && (lines.body["notes"] as? [[String: Any]])?.last?["note"] as? String == "1. valve\n2.\tseal")
            #expect(try await client.json(.post, "/api/v1/events/\(id)/notes", #"{"note": "a\u0000b"}"#).status == .badRequest)
            #expect(try await client.json(.post, "/api/v1/events/nope/notes", #"{"note": "x"}"#).status == .notFound)
        }
    }

    @Test func reviewRoutesAfterANormalAndAFaultyCycle() async throws {
        try await withPumpServer { client, parts, clock, stream in
            let sim = MachineSimulator(seed: 2)
            try await PipelineTests.stream(sim.cycle(0), stream, client, clock, parts, t0: 1000)
            try await PipelineTests.stream(sim.cycle(1, fault: .stuck(sensor: "flow")), stream, client, clock, parts, t0: 2000)

            let list = try await client.json(.get, "/api/v1/streams")
            let streams = try #require(list.body["streams"] as? [[String: Any]])
            #expect(streams.count == 1 && streams[0]["id"] as? String == stream && streams[0]["scored"] as? Bool == true)
            let detail = try await client.json(.get, "/api/v1/streams/\(stream)")
            let sensors = try #require(detail.body["sensors"] as? [[String: Any]])
            #expect(sensors.count == 8 && sensors.allSatisfy { ["NORMAL", "WARNING", "CRITICAL", "STALE"].contains($0["state"] as? String ?? "") })

            let transitions = try #require(try await client.json(.get, "/api/v1/streams/\(stream)/transitions?limit=5").body["transitions"] as? [[String: Any]])
            for bad in ["abc", "0", "1001", "2.5"] {
                #expect(try await client.json(.get, "/api/v1/streams/\(stream)/transitions?limit=\(bad)").status == .badRequest, "limit=\(bad)")
            }
            #expect(!transitions.isEmpty && transitions.count <= 5 && transitions.allSatisfy { $0["sensor"] is String && $0["to"] is String })
            let cycles = try #require(try await client.json(.get, "/api/v1/streams/\(stream)/cycles").body["cycles"] as? [[String: Any]])
            #expect(cycles.map { $0["number"] as? Int } == [2, 1])
            let normalID = try #require(cycles[1]["id"] as? String), faultyID = try #require(cycles[0]["id"] as? String)

            let cycle = try await client.json(.get, "/api/v1/cycles/\(normalID)")
            #expect((cycle.body["cycle"] as? [String: Any])?["anomalous"] as? Bool == false)
            let report = try #require(cycle.body["report"] as? [String: Any])
            #expect(report["healthScore"] is Double && (report["sensors"] as? [Any])?.count == 8)

            // Both cycles beside the reference, aligned by their reports' DTW paths: the stuck flow
            // sensor deviates far more in the faulty cycle than any sensor of the normal one.
            func aligned(_ id: String) async throws -> [String: Any] {
                let r = try await client.json(.get, "/api/v1/cycles/\(id)/aligned?points=50")
                #expect(r.status == .ok && r.body["model_id"] as? String != nil)
                return try #require(r.body["alignment"] as? [String: Any])
            }
            let normalAligned = try await aligned(normalID), faultyAligned = try await aligned(faultyID)
            let names = try #require(faultyAligned["sensors"] as? [String])
            let time = try #require(faultyAligned["time"] as? [Double])
            #expect(names.count == 8 && faultyAligned["alignedBy"] as? String == "dtw" && (2...50).contains(time.count))
            for key in ["cycle", "reference", "deviation"] {
                #expect((faultyAligned[key] as? [[Double]])?.allSatisfy { $0.count == time.count } == true, "\(key)")
            }
            func meanDeviation(_ a: [String: Any], _ j: Int) -> Double {
                let d = (a["deviation"] as? [[Double]])?[j] ?? []
                return d.reduce(0, +) / Double(max(d.count, 1))
            }
            let flow = try #require(names.firstIndex(of: "flow"))
            let normalWorst = (0..<8).map { meanDeviation(normalAligned, $0) }.max()!
            #expect(meanDeviation(faultyAligned, flow) > 2 * normalWorst, "flow \(meanDeviation(faultyAligned, flow)) vs \(normalWorst)")
            #expect(try await client.json(.get, "/api/v1/cycles/\(faultyID)/aligned?points=1").status == .badRequest)
            #expect(try await client.json(.get, "/api/v1/cycles/nope/aligned").status == .notFound)
            #expect(detail.body["model_assigned"] as? Bool == false && detail.body["model_id"] as? String != nil)

            let scores = try await client.json(.get, "/api/v1/streams/\(stream)/scores?from=1000&to=1500")
            let points = try #require(scores.body["points"] as? [[String: Any]])
            #expect(!points.isEmpty && scores.body["bucket"] as? Int == 1 && (scores.body["sensors"] as? [String])?.count == 8)
            #expect(try await client.json(.get, "/api/v1/streams/\(stream)/scores?from=yesterday").status == .badRequest)

            // The cycle's samples as CSV, readable by vertac-train.
            let csv = try await client.execute(uri: "/api/v1/cycles/\(normalID)/samples.csv", method: .get, headers: authHeaders()) { String(buffer: $0.body) }
            let table = try CSVTable.parse(csv, path: "cycle.csv")
            #expect(table.rows == sim.cycle(0).rows && Set(table.sensors) == Set(MachineSimulator.sensors))

            // Labels.
            #expect(try await client.json(.post, "/api/v1/cycles/\(normalID)/label", #"{"label": "normal"}"#).body["label"] as? String == "normal")
            #expect(try await client.json(.post, "/api/v1/cycles/\(normalID)/label", #"{"label": "great"}"#).status == .badRequest)
            #expect(try await client.json(.post, "/api/v1/cycles/nope/label", #"{"label": "normal"}"#).status == .notFound)

            // The last 30 s as the live chart's buckets: at 1 Hz every row keeps its own bucket.
            let lastText = try #require(detail.body["last_sample_at"] as? String)
            let lastRow = try #require(Timestamp.parse(lastText))
            let history = try await client.json(.get, "/api/v1/streams/\(stream)/signal?seconds=30")
            let historyPoints = try #require(history.body["points"] as? [[String: Any]])
            #expect((history.body["sensors"] as? [String])?.count == 8 && (29...31).contains(historyPoints.count), "\(historyPoints.count)")
            #expect(historyPoints.allSatisfy { $0["n"] as? Int == 1 && (($0["t"] as? Double) ?? 0) >= lastRow - 30.01 })
            #expect(abs((historyPoints.last?["t"] as? Double ?? 0) - lastRow) < 0.011)
            #expect(try await client.json(.get, "/api/v1/streams/\(stream)/signal?seconds=0").status == .badRequest)
            #expect(try await client.json(.get, "/api/v1/streams/nope/signal").status == .notFound)

            // A maintenance window suppresses every sensor (stored, with transitions) until it ends.
            let on = try await client.json(.post, "/api/v1/streams/\(stream)/maintenance", #"{"active": true}"#)
            #expect(on.status == .ok && (on.body["sensors"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String == "SUPPRESSED" } == true)
            let suppressed = try #require(try await client.json(.get, "/api/v1/streams/\(stream)/transitions?limit=8").body["transitions"] as? [[String: Any]])
            #expect(suppressed.count == 8 && suppressed.allSatisfy { $0["to"] as? String == "SUPPRESSED" && $0["reason"] as? String == "maintenance window" })
            let off = try await client.json(.post, "/api/v1/streams/\(stream)/maintenance", #"{"active": false}"#)
            #expect((off.body["sensors"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String == "NORMAL" } == true)
            #expect(try await client.json(.post, "/api/v1/streams/\(stream)/maintenance", #"{"active": "yes"}"#).status == .badRequest)
            #expect(try await client.json(.post, "/api/v1/streams/nope/maintenance", #"{"active": true}"#).status == .notFound)

            // Events: acknowledge, resolve, and the errors around them.
            let open = try #require(try await client.json(.get, "/api/v1/events?status=open&stream_id=\(stream)").body["events"] as? [[String: Any]])
            let event = try #require(open.first)
            let eventID = try #require(event["id"] as? String)
            let ack = try await client.json(.post, "/api/v1/events/\(eventID)/acknowledge",
                                           #"{"by": "ana", "note": "checking"}"#)
            #expect(ack.status == .ok && ack.body["status"] as? String == "ACKNOWLEDGED" && ack.body["acknowledgedBy"] as? String == "ana")
            let encoded = eventID
            #expect(try await client.json(.post, "/api/v1/events/\(encoded)/acknowledge").status == .conflict)
            #expect(try await client.json(.post, "/api/v1/events/\(encoded)/resolve", #"{"resolution": "broken"}"#).status == .badRequest)
            let resolved = try await client.json(.post, "/api/v1/events/\(encoded)/resolve", #"{"resolution": "false_positive", "note": "test rig"}"#)
            #expect(resolved.body["status"] as? String == "RESOLVED" && resolved.body["resolution"] as? String == "false_positive")
            #expect(try await client.json(.get, "/api/v1/events?status=resolved").body["events"].map { ($0 as? [Any])?.count } == 1)
            #expect(try await client.json(.get, "/api/v1/events?status=gone").status == .badRequest)
            #expect(try await client.json(.post, "/api/v1/events/nope/resolve", #"{"resolution": "fixed"}"#).status == .notFound)

            // Normal cycles for retraining: one CSV with cycle_id, which the trainer reads.
            let export = try await client.execute(uri: "/api/v1/export/normal-cycles", method: .get, headers: authHeaders()) { String(buffer: $0.body) }
            let exported = try CSVTable.parse(export, path: "normal.csv")
            #expect(Set(exported.cycleIDs ?? []) == [normalID] && !Set(exported.cycleIDs ?? []).contains(faultyID))
            #expect(try Dataset.split(exported, sensors: MachineSimulator.sensors).count == 1)

            let models = try #require(try await client.json(.get, "/api/v1/models").body["models"] as? [[String: Any]])
            #expect(models.count == 1 && models[0]["active"] as? Bool == true && (models[0]["sensors"] as? [String])?.count == 8)
            // Metrics, Prometheus text.
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: authHeaders()) { ($0.status, String(buffer: $0.body)) }
            #expect(metrics.0 == .ok)
            let rows = sim.cycle(0).rows + sim.cycle(1, fault: .stuck(sensor: "flow")).rows
            #expect(metrics.1.contains("vertac_ingested_rows_total \(rows)"), "\(metrics.1.prefix(400))")
            for name in ["vertac_ingested_values_total", "vertac_windows_scored_total", "vertac_batch_commit_seconds_bucket",
                         "vertac_scoring_batch_seconds_bucket", "vertac_scoring_batch_windows", "vertac_open_events",
                         "vertac_sensors{state=\"NORMAL\"}", "vertac_websocket_clients"] {
                #expect(metrics.1.contains(name), "\(name) missing")
            }
            // Per-stream and per-sensor gauges, every family described; HTTP requests by route pattern.
            let lines = metrics.1.split(separator: "\n")
            let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
            let helps = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            #expect(types.allSatisfy(helps.contains), "\(types.filter { !helps.contains($0) })")
            func value(_ series: String) -> Double? {
                lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(value("vertac_stream_info{device=\"pump-7\",stream=\"\(stream)\"}") == 1)
            #expect(value("vertac_stream_cycle_state{state=\"STOPPED\",stream=\"\(stream)\"}") == 1)
            #expect(value("vertac_stream_cycle_state{state=\"ACTIVE\",stream=\"\(stream)\"}") == 0)
            #expect(value("vertac_sensor_state{sensor=\"flow\",state=\"NORMAL\",stream=\"\(stream)\"}") == 1)
            #expect(value("vertac_sensor_score_ratio{sensor=\"flow\",stream=\"\(stream)\"}") != nil)
            #expect(value("vertac_stream_last_cycle_health{stream=\"\(stream)\"}").map { (0...100).contains($0) } == true)
            #expect(value("vertac_stream_open_events{severity=\"HIGH\",stream=\"\(stream)\"}") != nil)
            #expect(value("vertac_stream_last_sample_age_seconds{stream=\"\(stream)\"}").map { $0 >= 0 } == true)
            #expect(value("vertac_http_requests_total{route=\"/api/v1/events/{id}/resolve\",method=\"POST\",status=\"404\"}") == 1)
            #expect(value("vertac_http_requests_total{route=\"/api/v1/streams/{id}\",method=\"GET\",status=\"200\"}").map { $0 >= 1 } == true)
            #expect(try await client.execute(uri: "/metrics", method: .get) { $0.status } == .unauthorized)
            #expect(try await client.json(.get, "/api/v1/streams/nope").status == .notFound)
            #expect(try await client.json(.get, "/api/v1/cycles/nope").status == .notFound)
            #expect(try await client.json(.get, "/api/v1/streams/nope/cycles").status == .notFound)
        }
    }
}
