import Testing
@testable import Inference

@Suite struct CycleStateMachineTests {
    func machine(_ events: [(CycleEvent, Double)]) throws -> CycleStateMachine {
        var m = CycleStateMachine(gracePeriod: 10, sampleTimeout: 30)
        for (e, t) in events { _ = try m.handle(e, at: t) }
        return m
    }

    @Test func happyPathThroughEveryNormalState() throws {
        var m = CycleStateMachine()
        #expect(m.state == .idle)
        #expect(try m.handle(.register, at: 0).map(\.to) == [.waitingStart])
        #expect(try m.handle(.register, at: 1).isEmpty) // idempotent
        #expect(try m.handle(.start, at: 2).map(\.to) == [.active])
        #expect(m.cycle == 1)
        do { let r = m.sample(at: 3); #expect(r) }
        #expect(try m.handle(.pause, at: 4).map(\.to) == [.paused])
        do { let r = m.sample(at: 5); #expect(!r) } // samples while paused are not part of the cycle's windows
        do { let r = m.tick(at: 100); #expect(r.isEmpty) } // a paused cycle does not time out
        #expect(try m.handle(.resume, at: 101).map(\.to) == [.active])
        #expect(try m.handle(.stop, at: 110).map(\.to) == [.stopping])
        do { let r = m.sample(at: 115); #expect(r) } // a late sample within the grace period still belongs to the cycle
        do { let r = m.tick(at: 124); #expect(r.isEmpty) } // grace counts from the last sample
        do { let r = m.tick(at: 125); #expect(r.map(\.to) == [.stopped]) }
        #expect(try m.handle(.acknowledge, at: 130).map(\.to) == [.waitingStart])
    }

    @Test func silenceAbortsAndReconnectionKeepsTheCycle() throws {
        var m = try machine([(.register, 0), (.start, 0)])
        _ = m.sample(at: 10)
        do { let r = m.tick(at: 39); #expect(r.isEmpty) }
        _ = m.sample(at: 39.5) // reconnection within the timeout
        do { let r = m.tick(at: 69); #expect(r.isEmpty) }
        let aborted = m.tick(at: 69.6)
        #expect(aborted.map(\.to) == [.aborted])
        #expect(aborted[0].reason.contains("no samples"))
        // The next cycle starts directly from ABORTED; the aborted one keeps its number.
        #expect(try m.handle(.start, at: 80).map(\.to) == [.active])
        #expect(m.cycle == 2)
    }

    @Test func samplesOutsideACycleAreActivityButNotPartOfIt() throws {
        var m = try machine([(.register, 0)])
        do { let r = m.sample(at: 20); #expect(!r) }
        #expect(m.lastActivity == 20 && m.state == .waitingStart)
        #expect(try m.handle(.start, at: 30).map(\.to) == [.active])
        _ = try m.handle(.stop, at: 40)
        #expect(m.tick(at: 50).map(\.to) == [.stopped])
        do { let r = m.sample(at: 70); #expect(!r) }
        #expect(m.lastActivity == 70 && m.tick(at: 200).isEmpty)
    }

    @Test func nextCycleStartsFromStoppedAndStopping() throws {
        var m = try machine([(.register, 0), (.start, 0), (.stop, 50)])
        let t = try m.handle(.start, at: 52) // within the grace period
        #expect(t.map(\.to) == [.stopped, .active])
        #expect(t[0].cycle == 1 && t[1].cycle == 2)
        _ = try m.handle(.stop, at: 90)
        _ = m.tick(at: 100)
        #expect(m.state == .stopped)
        #expect(try m.handle(.start, at: 101).map(\.to) == [.active])
        #expect(m.cycle == 3)
    }

    @Test(arguments: [
        (CycleEvent.start, CycleState.idle), (.stop, .idle), (.pause, .waitingStart), (.stop, .waitingStart),
        (.resume, .active), (.start, .active), (.acknowledge, .active), (.pause, .paused), (.start, .paused),
        (.stop, .stopping), (.acknowledge, .stopping), (.stop, .stopped), (.pause, .aborted), (.acknowledge, .idle),
    ])
    func invalidEventsAreRejectedWithTheStateNamed(event: CycleEvent, state: CycleState) throws {
        var m = CycleStateMachine(restoring: state, cycle: 1, since: 0, lastActivity: 0)
        #expect(throws: CycleEventError(event: event, state: state)) { try m.handle(event, at: 1) }
        #expect(m.state == state)
        let message = "\(CycleEventError(event: event, state: state))"
        #expect(message.contains(state.rawValue))
    }
}
