import Foundation
import Inference
import Testing
@testable import ServeKit

/// Typed records reach the HTTP API as the same strings as before (the dashboard reads them).
@Suite struct StoreDTOTests {
    static func json(_ v: some Encodable) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    @Test func cycleAndTransitionViewsKeepTheirStrings() throws {
        let c = CycleRecord(id: "c1", streamID: "s1", number: 2, state: .stopped, startedAt: 1_767_225_600, endedAt: 1_767_225_660, rows: 60,
                            healthScore: 71.5, anomalous: true, severity: .warning, reportJSON: "{}", label: .reference)
        #expect(try Self.json(CycleSummary(c)) == """
            {"anomalous":true,"ended_at":"2026-01-01T00:01:00Z","health_score":71.5,"id":"c1","label":"reference","metadata":{},\
            "number":2,"rows":60,"severity":"warning","started_at":"2026-01-01T00:00:00Z","state":"STOPPED","stream_id":"s1"}
            """)
        let open = CycleRecord(id: "c2", streamID: "s1", number: 3, state: .waitingStart, startedAt: 0)
        #expect(try Self.json(CycleSummary(open)).contains(#""state":"WAITING_START""#))
        let t = TransitionRecord(streamID: "s1", sensor: "a", from: .normal, to: .suppressed, time: 1_767_225_600, reason: "maintenance window", evidenceJSON: nil)
        #expect(try Self.json(TransitionView(t)) == #"{"from":"NORMAL","reason":"maintenance window","sensor":"a","time":"2026-01-01T00:00:00Z","to":"SUPPRESSED"}"#)
    }
}
