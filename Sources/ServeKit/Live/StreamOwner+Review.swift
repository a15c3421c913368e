import Foundation
import Inference

extension StreamOwner {
    // Engineers' commands: in order with the windows that may change the same events.

    /// Starts or ends a maintenance window: every sensor SUPPRESSED (windows are ignored, no event
    /// opens), or back to NORMAL. Stored, so it outlasts a restart.
    ///
    /// - Returns: whether the stream is scored (without a model it has no sensor states).
    func setMaintenance(_ active: Bool, at time: Double) async throws -> Bool {
        try await serialized { try await self.maintenanceNow(active, at: time) }
    }

    private func maintenanceNow(_ active: Bool, at time: Double) async throws -> Bool {
        guard monitor.scorer != nil else { return false }
        try await commitSensorChanges(monitor.setMaintenance(active, at: time))
        return true
    }

    /// An engineer's change of one of this stream's events (acknowledge, resolve, note), in
    /// order with the windows that may escalate it: `change` gets the event as stored now and
    /// returns the note to keep in its history. A later escalation keeps the change; a resolved
    /// event lets a new one open for its sensor.
    func review(event eventID: String, _ change: @escaping @Sendable (inout MaintenanceEvent) throws -> EventNote?) async throws
        -> MaintenanceEvent
    {
        try await serialized { try await self.reviewNow(eventID, change) }
    }

    private func reviewNow(_ eventID: String, _ change: @Sendable (inout MaintenanceEvent) throws -> EventNote?) async throws
        -> MaintenanceEvent
    {
        await scoringSettled()
        guard var e = try await store.event(eventID) else { throw ServiceError(.unknownEvent, "no event \"\(eventID)\"") }
        let note = try change(&e)
        try await store.saveEvent(e, note: note)
        monitor.eventReviewed(e)
        return e
    }

    /// Applies an engineer's change to one of the stream's cycles (a label), read fresh and
    /// saved in order with the stream's own writes to it; nil when no such cycle is stored.
    func changeCycle(_ cycleID: String, _ change: @escaping @Sendable (inout CycleRecord) throws -> Void) async throws -> CycleRecord? {
        try await serialized {
            guard var c = try await self.store.cycle(cycleID) else { return nil }
            try change(&c)
            try await self.store.saveCycle(c)
            return c
        }
    }
}
