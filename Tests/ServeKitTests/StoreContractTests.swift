import Foundation
import Inference
import Testing
@testable import ServeKit

/// The PostgreSQL server the tests may use (scripts/test.sh starts a throwaway one).
let postgresURL = ProcessInfo.processInfo.environment["VERTAC_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
let postgresSkip = "PostgreSQL not configured: set VERTAC_TEST_DATABASE_URL (scripts/test.sh starts a throwaway cluster)"

/// The storage contract every implementation must pass: in memory and SQLite always, PostgreSQL
/// when configured (a run without it says so: see `contractSuiteRunsOnPostgreSQL`).
enum StoreKind: String, CaseIterable, Sendable {
    case memory, sqlite, postgres

    /// The kinds this run can test.
    static var available: [StoreKind] { postgresURL == nil ? [.memory, .sqlite] : [.memory, .sqlite, .postgres] }

    /// A fresh, empty store (PostgreSQL: a schema of its own).
    func make(_ dir: DataDir) async throws -> any Store {
        switch self {
        case .memory: return InMemoryStore()
        case .sqlite: return try SQLiteStore(path: dir.path + ".sqlite")
        case .postgres: return try await PostgresStore.open(url: postgresURL!, schema: "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
        }
    }
}

@Suite struct StoreContractTests {
    static func stream(_ id: String = "s1") -> StreamRecord {
        StreamRecord(id: id, deviceName: "m", datasetID: "d", registeredAt: 1, sensors: [
            SensorRecord(sensorID: "a1", name: "a", type: nil, unit: "bar"), SensorRecord(sensorID: nil, name: "b", type: "analog", unit: nil),
        ], cycleState: .waitingStart, cycleNumber: 0, stateSince: 1, lastActivity: 1, currentCycleID: nil, lastTimestamp: nil, filledValues: 0)
    }

    @Test(arguments: StoreKind.available)
    func streamsAndCyclesRoundTrip(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        var s = Self.stream()
        try await store.saveStream(s)
        #expect(try await store.stream("s1") == s)
        s.cycleState = .active; s.cycleNumber = 1; s.currentCycleID = "c1"
        try await store.saveStream(s)   // an update, not a second stream
        #expect(try await store.streams() == [s])
        #expect(try await store.stream("nope") == nil)
        // An update keeps the registration (time and dataset); streams come in registration order.
        var moved = s
        (moved.registeredAt, moved.datasetID) = (99, "other")
        try await store.saveStream(moved)
        #expect(try await store.stream("s1") == s)
        try await store.saveStream(Self.stream("s0"))
        #expect(try await store.streams().map(\.id) == ["s0", "s1"])
        let c = CycleRecord(id: "c1", streamID: "s1", number: 1, state: .active, startedAt: 10, metadata: ["operator": "ana"])
        try await store.saveCycle(c)
        var done = c
        done.state = .stopped; done.endedAt = 20; done.healthScore = 97.5; done.anomalous = false; done.reportJSON = "{}"; done.label = .normal
        try await store.saveCycle(done)
        #expect(try await store.cycle("c1") == done)
        try await store.saveCycle(CycleRecord(id: "c2", streamID: "s1", number: 2, state: .active, startedAt: 30))
        #expect(try await store.cycles(stream: "s1").map(\.id) == ["c2", "c1"])
        // A cycle of an unknown stream is refused (a foreign key in SQL).
        await #expect(throws: (any Error).self) {
            try await store.saveCycle(CycleRecord(id: "c9", streamID: "nope", number: 1, state: .active, startedAt: 0))
        }
        #expect(try await store.cycle("c9") == nil)
    }

    @Test(arguments: StoreKind.available)
    func batchesAreAtomicAndIdempotent(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        var s = Self.stream()
        s.currentCycleID = "c1"
        try await store.saveStream(s)
        try await store.saveCycle(CycleRecord(id: "c1", streamID: "s1", number: 1, state: .active, startedAt: 0))
        s.lastTimestamp = 2
        let rows = [SampleRow(time: 1, values: [1.5, -2], cycleID: "c1"), SampleRow(time: 2, values: [3, 4], cycleID: "c1"),
                    SampleRow(time: 0.5, values: [9, 9], cycleID: nil)]
        try await store.commitBatch(stream: s, rows: rows, batchID: "b1", ack: BatchAck(ackID: "k1", samples: 6, rows: 3))
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b1") == BatchAck(ackID: "k1", samples: 6, rows: 3))
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b2") == nil)
        #expect(try await store.samples(cycle: "c1") == Array(rows.prefix(2)))
        // By time, in and out of cycles, bounds included.
        #expect(try await store.samples(stream: "s1", from: 0.5, to: 1) == [rows[2], rows[0]])
        #expect(try await store.samples(stream: "s1", from: 1.5, to: 10) == [rows[1]])
        #expect(try await store.samples(stream: "other", from: 0, to: 10).isEmpty)
        #expect(try await store.cycle("c1")?.rows == 2)
        #expect(try await store.stream("s1")?.lastTimestamp == 2)
        // A failing batch (a row at an existing time) leaves nothing behind: no rows, no ack, no state.
        var t = s
        t.lastTimestamp = 5
        await #expect(throws: (any Error).self) {
            try await store.commitBatch(stream: t, rows: [SampleRow(time: 3, values: [0, 0], cycleID: "c1"), SampleRow(time: 2, values: [0, 0], cycleID: "c1")],
                                        batchID: "b3", ack: BatchAck(ackID: "k3", samples: 4, rows: 2))
        }
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b3") == nil)
        #expect(try await store.samples(cycle: "c1").count == 2)
        #expect(try await store.stream("s1")?.lastTimestamp == 2)
        // Nor may a row fall between two rows of a stored batch (stores keep a batch together).
        await #expect(throws: (any Error).self) {
            try await store.commitBatch(stream: t, rows: [SampleRow(time: 1.5, values: [0, 0], cycleID: "c1")],
                                        batchID: "b4", ack: BatchAck(ackID: "k4", samples: 2, rows: 1))
        }
        #expect(try await store.samples(stream: "s1", from: 0, to: 10).map(\.time) == [0.5, 1, 2])
        // A batch of a stream the store does not hold is refused, and leaves no rows.
        var ghost = Self.stream("ghost")
        ghost.lastTimestamp = 1
        await #expect(throws: (any Error).self) {
            try await store.commitBatch(stream: ghost, rows: [SampleRow(time: 1, values: [0, 0], cycleID: nil)], batchID: nil,
                                        ack: BatchAck(ackID: "k5", samples: 2, rows: 1))
        }
        #expect(try await store.samples(stream: "ghost", from: 0, to: 10).isEmpty)
        // A batch id already committed is refused as a whole, even with new rows.
        await #expect(throws: (any Error).self) {
            try await store.commitBatch(stream: t, rows: [SampleRow(time: 7, values: [0, 0], cycleID: "c1")],
                                        batchID: "b1", ack: BatchAck(ackID: "k9", samples: 2, rows: 1))
        }
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b1") == BatchAck(ackID: "k1", samples: 6, rows: 3))
        #expect(try await store.samples(stream: "s1", from: 0, to: 10).map(\.time) == [0.5, 1, 2])
        #expect(try await store.cycle("c1")?.rows == 2)
        // Without a batch id nothing is kept for retries; rows of no cycle count for none.
        try await store.commitBatch(stream: t, rows: [SampleRow(time: 8, values: [1, 1], cycleID: nil)], batchID: nil,
                                    ack: BatchAck(ackID: "k4", samples: 2, rows: 1))
        #expect(try await store.samples(stream: "s1", from: 8, to: 8).count == 1)
        #expect(try await store.cycle("c1")?.rows == 2)
        #expect(try await store.stream("s1")?.lastTimestamp == 5)
    }

    /// Many streams commit at once: each commit lands whole, and a failing one among them — a batch
    /// id reused, a row at an existing time — fails alone.
    @Test(arguments: StoreKind.available)
    func concurrentCommitsLandAndFailAlone(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        let n = 40
        for k in 0..<n { try await store.saveStream(Self.stream("s\(k)")) }
        try await store.commitBatch(stream: Self.stream("s0"), rows: [SampleRow(time: 1, values: [0, 0], cycleID: nil)], batchID: "first",
                                    ack: BatchAck(ackID: "a0", samples: 2, rows: 1))
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for k in 0..<n {
                group.addTask {
                    var s = Self.stream("s\(k)")
                    s.lastTimestamp = 100 + Double(k)
                    // Stream 0 reuses a committed batch id; stream 1 sends a row twice.
                    let rows = k == 1 ? [SampleRow(time: 5, values: [1, 1], cycleID: nil), SampleRow(time: 5, values: [2, 2], cycleID: nil)]
                        : (0..<10).map { SampleRow(time: 10 + Double($0), values: [Float(k), Float($0)], cycleID: nil) }
                    do {
                        try await store.commitBatch(stream: s, rows: rows, batchID: k == 0 ? "first" : "b\(k)",
                                                    ack: BatchAck(ackID: "a\(k)", samples: 2 * rows.count, rows: rows.count))
                        return (k, true)
                    } catch {
                        return (k, false)
                    }
                }
            }
            var out: [Int: Bool] = [:]
            for try await (k, ok) in group { out[k] = ok }
            return out
        }
        #expect(outcomes[0] == false && outcomes[1] == false)
        #expect((2..<n).allSatisfy { outcomes[$0] == true }, "\(outcomes.filter { !$0.value }.keys.sorted())")
        for k in 2..<n {
            #expect(try await store.samples(stream: "s\(k)", from: 0, to: 100).map(\.values) == (0..<10).map { [Float(k), Float($0)] })
            #expect(try await store.acknowledgement(stream: "s\(k)", batchID: "b\(k)")?.ackID == "a\(k)")
            #expect(try await store.stream("s\(k)")?.lastTimestamp == 100 + Double(k))
        }
        #expect(try await store.samples(stream: "s0", from: 0, to: 100).map(\.time) == [1])
        #expect(try await store.samples(stream: "s1", from: 0, to: 100).isEmpty)
        #expect(try await store.stream("s1")?.lastTimestamp == nil)
        #expect(try await store.acknowledgement(stream: "s1", batchID: "b1") == nil)
    }

    @Test(arguments: StoreKind.available)
    func scoringRecordsAndEvents(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        try await store.saveStream(Self.stream())
        var e = MaintenanceEvent(id: "evt-1", stream: "s1", sensor: "a", severity: .high, openedAt: 5, updatedAt: 5, reason: "r",
                                 evidence: nil, topSensors: [SensorContribution(sensor: "a", score: 4)], estimatedCost: 10)
        try await store.commitScoring(
            scores: [ScoreRecord(streamID: "s1", cycleID: "c1", time: 5, score: 0.5, sensorScores: [4, 0.2]),
                     ScoreRecord(streamID: "s1", cycleID: "c1", time: 6, score: 0.4, sensorScores: [3, 0.1])],
            states: [SensorStateRecord(streamID: "s1", sensor: "a", state: .critical, since: 5, above: 3, below: 0, warningWindows: 0)],
            transitions: [TransitionRecord(streamID: "s1", sensor: "a", from: .normal, to: .critical, time: 5, reason: "x", evidenceJSON: "{}")],
            events: [e])
        #expect(try await store.scores(stream: "s1", from: 5.5, to: 10).map(\.time) == [6])
        #expect(try await store.scores(stream: "s1", from: 0, to: 10).first?.sensorScores == [4, 0.2])
        #expect(try await store.sensorStates(stream: "s1").first?.state == .critical)
        #expect(try await store.transitions(stream: "s1", limit: 10).first?.to == .critical)
        // A score re-sent for the same time replaces it; a state replaces the sensor's state;
        // transitions come newest first, at most `limit`.
        try await store.commitScoring(
            scores: [ScoreRecord(streamID: "s1", cycleID: "c1", time: 6, score: 0.9, sensorScores: [1, 2])],
            states: [SensorStateRecord(streamID: "s1", sensor: "a", state: .warning, since: 6, above: 0, below: 1, warningWindows: 2),
                     SensorStateRecord(streamID: "s1", sensor: "b", state: .stale, since: 6, above: 0, below: 0, warningWindows: 0)],
            transitions: [TransitionRecord(streamID: "s1", sensor: "a", from: .critical, to: .warning, time: 6, reason: "y", evidenceJSON: nil),
                          TransitionRecord(streamID: "s1", sensor: "b", from: .normal, to: .stale, time: 6, reason: "z", evidenceJSON: nil)],
            events: [])
        #expect(try await store.scores(stream: "s1", from: 0, to: .infinity).map(\.score) == [0.5, 0.9])
        #expect(try await store.scores(stream: "s1", from: 6, to: 6).first?.sensorScores == [1, 2])
        #expect(try await store.sensorStates(stream: "s1").sorted { $0.sensor < $1.sensor }.map(\.state) == [.warning, .stale])
        #expect(try await store.transitions(stream: "s1", limit: 2).map(\.reason) == ["z", "y"])
        #expect(try await store.transitions(stream: "s1", limit: 10).map(\.to) == [.stale, .warning, .critical])
        #expect(try await store.transitions(stream: "other", limit: 10).isEmpty)
        #expect(try await store.event("evt-1") == e)
        try e.acknowledge(by: "ana", at: 7)
        try await store.saveEvent(e)
        #expect(try await store.events(status: .acknowledged, stream: "s1") == [e])
        #expect(try await store.events(status: .open, stream: nil).isEmpty)
        #expect(try await store.events(status: nil, stream: "other").isEmpty)
    }

    /// Scoring escalates the copy of an event it had before an engineer acknowledged it: the
    /// stored event takes the new severity and keeps the acknowledgement, its author and note.
    @Test(arguments: StoreKind.available)
    func escalationKeepsTheReviewAndNotesKeepAHistory(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        let e = MaintenanceEvent(id: "evt-2", stream: "s1", sensor: "a", severity: .high, openedAt: 5, updatedAt: 5, reason: "reached CRITICAL",
                                 evidence: nil, topSensors: [SensorContribution(sensor: "a", score: 4)], estimatedCost: nil)
        try await store.commitScoring(scores: [], states: [], transitions: [], events: [e])
        var acknowledged = e
        try acknowledged.acknowledge(by: "ana", at: 7, note: "checking the valve")
        try await store.saveEvent(acknowledged, note: EventNote(eventID: e.id, author: "ana", note: "checking the valve", at: 7))
        var escalated = e
        (escalated.severity, escalated.reason, escalated.updatedAt) = (.critical, "score 7.1 above 6.0× threshold", 9)
        try await store.commitScoring(scores: [], states: [], transitions: [], events: [escalated])
        let stored = try #require(try await store.event(e.id))
        #expect(stored.status == .acknowledged && stored.acknowledgedBy == "ana" && stored.acknowledgedAt == 7 && stored.note == "checking the valve")
        #expect(stored.severity == .critical && stored.reason == escalated.reason && stored.updatedAt == 9)
        #expect(try await store.events(status: .acknowledged, stream: "s1").map(\.id) == [e.id])
        #expect(try await store.events(status: .open, stream: "s1").isEmpty)

        var noted = stored
        noted.note = "valve replaced"
        try await store.saveEvent(noted, note: EventNote(eventID: e.id, author: "bo", note: "valve replaced", at: 11))
        try await store.saveEvent(noted)   // no note: the history stays as it is
        #expect(try await store.eventNotes(events: [e.id, "evt-none"]) == [e.id: [
            EventNote(eventID: e.id, author: "ana", note: "checking the valve", at: 7),
            EventNote(eventID: e.id, author: "bo", note: "valve replaced", at: 11),
        ]])
        #expect(try await store.eventNotes(events: []).isEmpty)
    }

    @Test(arguments: StoreKind.available)
    func modelsKeepOneActive(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        func model(_ id: String, at t: Double) -> ModelRecord {
            ModelRecord(id: id, source: "\(id).h5", sensors: ["a"], window: 30, hidden: 64, createdAt: "c", trainerVersion: "v",
                        dataSHA256: "x", loadedAt: t, active: true)
        }
        try await store.saveModel(model("m1", at: 1))
        try await store.saveModel(model("m2", at: 2))
        let all = try await store.models()
        #expect(all.map(\.id) == ["m2", "m1"] && all.map(\.active) == [true, false])
        var inactive = model("m3", at: 3)
        inactive.active = false
        try await store.saveModel(inactive)
        #expect(try await store.models().map(\.active) == [false, true, false])
    }

    @Test(arguments: StoreKind.available)
    func tokensModelFilesAndAssignments(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        let admin = TokenRecord(id: "t2", name: "admin", scope: .admin, hash: "h2", createdAt: 1)
        var edge = TokenRecord(id: "t1", name: "edge", scope: .ingest, hash: "h1", createdAt: 2)
        try await store.saveToken(admin)
        try await store.saveToken(edge)
        #expect(try await store.tokens() == [edge, admin])
        #expect(try await store.token(hash: "h2") == admin)
        #expect(try await store.token(hash: "nope") == nil)
        edge.name = "edge-7"
        try await store.saveToken(edge)
        #expect(try await store.tokens() == [edge, admin])
        // Use moves forward only; revocation keeps its first time.
        try await store.tokenUsed(id: "t1", at: 50)
        try await store.tokenUsed(id: "t1", at: 40)
        try await store.tokenUsed(id: "nope", at: 40)
        #expect(try await store.token(hash: "h1")?.lastUsedAt == 50)
        #expect(try await store.revokeToken(id: "t1", at: 60)?.revokedAt == 60)
        #expect(try await store.revokeToken(id: "t1", at: 70)?.revokedAt == 60)
        #expect(try await store.revokeToken(id: "nope", at: 70) == nil)
        edge.lastUsedAt = 50
        edge.revokedAt = 60
        #expect(try await store.tokens() == [edge, admin])
        #expect(try await store.token(hash: "h2")?.revokedAt == nil)

        let bytes = Data((0..<300).map { UInt8($0 % 256) })
        try await store.saveModelFile(id: "m1", bytes: bytes)
        #expect(try await store.modelFile(id: "m1") == bytes)
        #expect(try await store.modelFile(id: "m2") == nil)
        try await store.saveModelFile(id: "m1", bytes: Data([1, 2]))
        #expect(try await store.modelFile(id: "m1") == Data([1, 2]))

        try await store.saveAssignment(stream: "s1", history: ["m1"])
        try await store.saveAssignment(stream: "s1", history: ["m1", "m2"])
        try await store.saveAssignment(stream: "s2", history: [])
        #expect(try await store.assignments() == ["s1": ["m1", "m2"], "s2": []])
    }

    /// A parameterised run without a PostgreSQL URL leaves PostgreSQL out; this test makes that
    /// visible in the output (skipped, with the reason) instead of silent.
    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func contractSuiteRunsOnPostgreSQL() {
        #expect(StoreKind.available == [.memory, .sqlite, .postgres])
    }

    /// A state this server does not know (written by a newer server, or by hand), a NULL where a
    /// value is required and a malformed number are thrown ``StoreError``s naming the column, on
    /// both SQL stores — never a crash.
    @Test(arguments: StoreKind.available.filter { $0 != .memory })
    func badStoredValuesAreThrownErrors(kind: StoreKind) async throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let store = try await kind.make(dir)
        try await store.saveStream(Self.stream())
        try await store.saveCycle(CycleRecord(id: "c1", streamID: "s1", number: 1, state: .stopped, startedAt: 0))
        try await store.commitScoring(
            scores: [], states: [SensorStateRecord(streamID: "s1", sensor: "a", state: .warning, since: 1, above: 1, below: 0, warningWindows: 1)],
            transitions: [TransitionRecord(streamID: "s1", sensor: "a", from: .normal, to: .warning, time: 1, reason: "r", evidenceJSON: nil)],
            events: [])
        func execute(_ sql: String) async throws {
            switch store {
            case let s as SQLiteStore: try await s.pool.write { try $0.execute(sql: sql) }
            case let s as PostgresStore: try await s.pool.with { try $0.query(sql) }
            default: Issue.record("not an SQL store")
            }
        }
        try await execute("UPDATE streams SET cycle_state = 'EXPLODED'")
        try await execute("UPDATE cycles SET severity = 'apocalyptic'")
        try await execute("UPDATE sensor_states SET state = 'ON_FIRE'")
        try await execute("UPDATE transitions SET to_state = 'GONE'")
        let stream = await #expect(throws: StoreError.self) { try await store.stream("s1") }
        #expect(stream?.isUnknownValue == true && stream?.column == "cycle_state")
        #expect(stream.map { "\($0)".contains("EXPLODED") } == true)
        let cycle = await #expect(throws: StoreError.self) { try await store.cycles(stream: "s1") }
        #expect(cycle?.isUnknownValue == true && cycle?.column == "severity")
        let state = await #expect(throws: StoreError.self) { try await store.sensorStates(stream: "s1") }
        #expect(state?.column == "state")
        let transition = await #expect(throws: StoreError.self) { try await store.transitions(stream: "s1", limit: 5) }
        #expect(transition?.column == "to_state")
        // A known value read back still works once repaired.
        try await execute("UPDATE streams SET cycle_state = 'ACTIVE'")
        #expect(try await store.stream("s1")?.cycleState == .active)
    }

    @Test(.enabled(if: postgresURL != nil, Comment(rawValue: postgresSkip)))
    func postgresMigrationsAreNamedAndAppliedOnce() async throws {
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let first = try await PostgresStore.open(url: postgresURL!, schema: schema)
        #expect(try await first.appliedMigrations() == SchemaMigrationTests.ids)
        // Two servers starting at once: the advisory lock lets one migrate, the other finds nothing to do.
        async let a = PostgresStore.open(url: postgresURL!, schema: schema)
        async let b = PostgresStore.open(url: postgresURL!, schema: schema)
        let (x, y) = try await (a, b)
        #expect(try await x.appliedMigrations() == y.appliedMigrations())
        await #expect(throws: PGError.self) { try await PostgresStore.open(url: "postgresql://nobody@/nodb?host=/nonexistent") }
    }

    @Test func sqliteMigrationsAreNamedAndAppliedOnce() throws {
        let dir = DataDir()
        defer { try? FileManager.default.removeItem(atPath: dir.path + ".sqlite") }
        let first = try SQLiteStore(path: dir.path + ".sqlite")
        #expect(try first.appliedMigrations() == SchemaMigrationTests.ids)
        let again = try SQLiteStore(path: dir.path + ".sqlite")   // reopening applies nothing twice
        #expect(try again.appliedMigrations() == SchemaMigrationTests.ids)
    }
}
