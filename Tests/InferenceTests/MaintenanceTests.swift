import Testing
@testable import Inference

@Suite struct MaintenanceTests {
    let policy = MaintenancePolicy(warningDuration: 60, criticalDuration: 120, criticalScore: 6,
                                   baseCost: ["bearing": 45_000], topCount: 2)

    func evidence(_ s: Float, _ t: Double) -> SensorEvidence {
        SensorEvidence(time: t, error: s, errorThreshold: 1, dtwDeviation: 0, dtwThreshold: 0, score: s)
    }

    let contributions = [SensorContribution(sensor: "flow", score: 0.4), SensorContribution(sensor: "bearing", score: 3.5),
                         SensorContribution(sensor: "current", score: 1.2)]

    /// Drives one sensor through `scores` (one window per second) and collects the decisions.
    func drive(_ scores: [Float]) -> [MaintenancePolicy.Decision] {
        var sm = SensorStateMachine(settings: SensorSettings(kWarn: 2, kCrit: 1000, criticalFactor: 3, kRecover: 3))
        var open: MaintenanceEvent?
        var out: [MaintenancePolicy.Decision] = []
        for (t, s) in scores.enumerated() {
            let e = evidence(s, Double(t))
            let tr = sm.observe(e)
            let d = policy.decide(stream: "pump-1", sensor: "bearing", state: sm, transition: tr, evidence: e,
                                  contributions: contributions, existing: open)
            switch d {
            case .open(let ev), .escalate(let ev): open = ev; out.append(d)
            case .none: break
            }
        }
        return out
    }

    @Test func criticalOpensOneHighEventWithEvidenceAndCost() throws {
        let d = drive([2, 3.5, 3.5, 3.5, 3.5])
        #expect(d.count == 1) // deduplicated: the sensor stays critical, no second event
        guard case .open(let e) = d[0] else { Issue.record("expected an opened event"); return }
        #expect(e.severity == .high && e.status == .open && e.sensor == "bearing" && e.stream == "pump-1")
        #expect(e.evidence?.score == 3.5 && e.openedAt == 1)
        #expect(e.topSensors.map(\.sensor) == ["bearing", "current"])
        #expect(e.estimatedCost == 45_000)
    }

    @Test func longWarningOpensMediumAndCriticalEscalates() {
        let d = drive([2] + [Float](repeating: 2, count: 70) + [7])
        #expect(d.count == 2)
        guard case .open(let e) = d[0], case .escalate(let x) = d[1] else { Issue.record("expected open then escalate"); return }
        #expect(e.severity == .medium && e.openedAt == 61) // warning since t = 1, 60 s later
        #expect(e.estimatedCost == 22_500)
        #expect(x.id == e.id && x.severity == .critical && x.estimatedCost == 67_500) // same event, escalated
    }

    @Test func longCriticalEscalatesAndNeverDowngrades() {
        let d = drive([4, 4] + [Float](repeating: 4, count: 130))
        #expect(d.count == 2)
        guard case .escalate(let x) = d[1] else { Issue.record("expected an escalation"); return }
        #expect(x.severity == .critical && x.reason.hasPrefix("critical for 120 s"))
    }

    @Test func lifecycle() throws {
        guard case .open(var e) = drive([4, 4])[0] else { Issue.record("expected an event"); return }
        try e.acknowledge(by: "ana", at: 10, note: "looking")
        #expect(e.status == .acknowledged && e.acknowledgedBy == "ana" && e.isOpen)
        #expect(throws: EventLifecycleError(action: "acknowledge", status: .acknowledged)) { try e.acknowledge(by: "bo", at: 11) }
        try e.resolve(by: "ana", at: 20, resolution: .falsePositive, note: "valve test")
        #expect(e.status == .resolved && e.resolution == .falsePositive && e.note == "valve test" && !e.isOpen)
        #expect(throws: EventLifecycleError(action: "resolve", status: .resolved)) {
            try e.resolve(by: "bo", at: 21, resolution: .fixed)
        }
        #expect(EventResolution.falsePositive.rawValue == "false_positive")
    }
}
