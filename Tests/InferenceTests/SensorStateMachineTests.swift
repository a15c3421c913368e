import Testing
@testable import Inference

@Suite struct SensorStateMachineTests {
    static let settings = SensorSettings(kWarn: 3, kCrit: 5, criticalFactor: 3, kRecover: 2)

    func evidence(_ s: Float, _ t: Double) -> SensorEvidence {
        SensorEvidence(time: t, error: s * 0.1, errorThreshold: 0.1, dtwDeviation: 0, dtwThreshold: 0, score: s)
    }

    /// Runs scores through a fresh machine; returns the state after each window.
    func run(_ scores: [Float]) -> (states: [SensorState], transitions: [SensorTransition]) {
        var sm = SensorStateMachine(settings: Self.settings)
        var states: [SensorState] = [], transitions: [SensorTransition] = []
        for (t, s) in scores.enumerated() {
            if let tr = sm.observe(evidence(s, Double(t))) { transitions.append(tr) }
            states.append(sm.state)
        }
        return (states, transitions)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let scores: [Float]
        let final: SensorState
        let path: [SensorState]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "stays normal below threshold", scores: [0.5, 0.9, 1.0, 0.2], final: .normal, path: []),
        Case(name: "normal → warning after kWarn windows", scores: [2, 2, 2], final: .warning, path: [.warning]),
        Case(name: "two above then one below: no warning", scores: [2, 2, 0.5, 2, 2], final: .normal, path: []),
        Case(name: "straight to critical when the kWarn-th window is above the factor", scores: [2, 2, 4], final: .critical, path: [.critical]),
        Case(name: "warning → critical above the factor", scores: [2, 2, 2, 3.5], final: .critical, path: [.warning, .critical]),
        Case(name: "warning → critical after kCrit windows", scores: [2, 2, 2, 2, 2, 2, 2, 2], final: .critical, path: [.warning, .critical]),
        Case(name: "warning → normal after kRecover windows", scores: [2, 2, 2, 0.5, 0.5], final: .normal, path: [.warning, .normal]),
        Case(name: "critical → normal after kRecover windows", scores: [2, 2, 4, 0.1, 0.1], final: .normal, path: [.critical, .normal]),
        Case(name: "critical stays critical on a single good window", scores: [2, 2, 4, 0.1, 2, 0.1], final: .critical, path: [.critical]),
    ]

    @Test(arguments: cases)
    func transitions(_ c: Case) {
        let r = run(c.scores)
        #expect(r.states.last == c.final)
        #expect(r.transitions.map(\.to) == c.path)
    }

    @Test func flappingInputDoesNotFlapTheState() {
        // Alternating above/below: never kWarn above in a row, never kRecover below in a row.
        let r = run((0..<40).map { $0 % 2 == 0 ? 2.5 : 0.5 })
        #expect(r.transitions.isEmpty)
        // Once warning, alternating input holds the state (no recovery) until kCrit escalates it.
        let w = run([2, 2, 2] + (0..<6).map { $0 % 2 == 0 ? 0.5 : 2 })
        #expect(w.transitions.map(\.to) == [.warning, .critical])
        #expect(w.transitions.last?.reason.contains("warning lasted") == true)
    }

    @Test func transitionsCarryEvidence() {
        let r = run([2, 2, 2.5])
        let t = r.transitions[0]
        #expect(t.from == .normal && t.to == .warning && t.time == 2)
        #expect(t.evidence == evidence(2.5, 2))
        #expect(t.reason == "3 consecutive windows above threshold")
    }

    @Test func staleAndSuppressed() {
        var sm = SensorStateMachine(settings: Self.settings)
        _ = sm.observe(evidence(2, 0))
        #expect(sm.markStale(at: 40)?.to == .stale)
        #expect(sm.markStale(at: 50) == nil) // already stale: no second transition
        #expect(sm.observe(evidence(0.5, 60))?.to == .normal)
        #expect(sm.suppress(at: 70)?.to == .suppressed)
        for t in 0..<10 { #expect(sm.observe(evidence(9, 71 + Double(t))) == nil) } // ignored while suppressed
        #expect(sm.markStale(at: 100) == nil)
        #expect(sm.resume(at: 110)?.to == .normal)
        #expect(sm.resume(at: 111) == nil)
    }

    @Test func dataResumedEndsStaleOnly() {
        var sm = SensorStateMachine(settings: Self.settings)
        #expect(sm.dataResumed(at: 5) == nil) // not stale: nothing to end
        _ = sm.observe(evidence(2, 10))
        #expect(sm.markStale(at: 40)?.to == .stale)
        let t = sm.dataResumed(at: 45)
        #expect(t?.from == .stale && t?.to == .normal && t?.reason == "data resumed" && t?.evidence == nil)
        #expect(sm.above == 0 && sm.below == 0 && sm.since == 45)
        #expect(sm.suppress(at: 50)?.to == .suppressed)
        #expect(sm.dataResumed(at: 55) == nil) // a maintenance window is not silence
    }
}
