import Foundation
import Inference

/// Where the server keeps everything: one repository per concern, composed. Three
/// implementations are held to one contract suite: ``SQLiteStore`` (embedded, the default),
/// ``PostgresStore`` (production) and ``InMemoryStore`` (unit tests of services).
///
/// A service depends on the repositories it uses (tokens: ``TokenRepository``; models:
/// ``ModelRepository``), so that its tests need no more. Every write that an acknowledgement
/// depends on is committed before the method returns.
protocol Store: StreamRepository, SampleRepository, CycleRepository, ScoringRepository, EventRepository,
                       ModelRepository, TokenRepository, RetentionRepository {}

/// Registered streams and their restorable cycle state.
protocol StreamRepository: Sendable {
    /// Creates or updates a stream (its cycle state included); an update keeps the registration
    /// (dataset id and time).
    func saveStream(_ s: StreamRecord) async throws
    func stream(_ id: String) async throws -> StreamRecord?
    /// In registration order.
    func streams() async throws -> [StreamRecord]
}

/// Ingested rows and the acknowledgements of their batches.
protocol SampleRepository: Sendable {
    /// The acknowledgement stored for a batch id, if that batch was committed before.
    func acknowledgement(stream: String, batchID: String) async throws -> BatchAck?

    /// Commits an ingest batch atomically: its rows, the stream's progress (last timestamp,
    /// values carried forward, last activity), the cycle's row count, and — when `batchID` is
    /// given — the acknowledgement under that id.
    ///
    /// - Throws: when the stream is not stored, a row's time falls within the stream's stored
    ///   rows or the batch id was committed before; nothing of the batch is kept then.
    func commitBatch(stream: StreamRecord, rows: [SampleRow], batchID: String?, ack: BatchAck) async throws

    /// Rows of a cycle, in time order.
    func samples(cycle: String) async throws -> [SampleRow]

    /// Rows of a stream with `from ≤ t ≤ to`, in time order (in a cycle or not).
    func samples(stream: String, from: Double, to: Double) async throws -> [SampleRow]
}

/// Cycles, their reports and labels.
protocol CycleRepository: Sendable {
    /// Creates or updates a cycle; an update keeps its stream, number and start.
    ///
    /// - Throws: when the stream is unknown.
    func saveCycle(_ c: CycleRecord) async throws
    func cycle(_ id: String) async throws -> CycleRecord?
    /// A stream's cycles, newest first.
    func cycles(stream: String) async throws -> [CycleRecord]
}

/// What scoring produces: window scores, sensor states and transitions (and the events it
/// opens or escalates, committed with them).
protocol ScoringRepository: Sendable {
    /// Everything one scoring batch produced for one stream, committed together. An event that
    /// is already stored keeps its review (status, acknowledgement, resolution, note): scoring
    /// owns an event's severity and evidence, engineers own its review.
    func commitScoring(scores: [ScoreRecord], states: [SensorStateRecord], transitions: [TransitionRecord],
                       events: [MaintenanceEvent]) async throws
    /// Scores of a stream between two times, in time order (a score for a stored time replaces it).
    func scores(stream: String, from: Double, to: Double) async throws -> [ScoreRecord]
    /// One per sensor that has one, by sensor name.
    func sensorStates(stream: String) async throws -> [SensorStateRecord]
    /// Newest first, at most `limit`.
    func transitions(stream: String, limit: Int) async throws -> [TransitionRecord]
}

/// Maintenance events and their notes, as engineers review them.
protocol EventRepository: Sendable {
    /// Stores an event as an engineer changed it and, when given, appends `note` to its history,
    /// in one transaction.
    func saveEvent(_ e: MaintenanceEvent, note: EventNote?) async throws
    /// The notes of the given events, oldest first, by event id (events without notes are absent).
    func eventNotes(events ids: [String]) async throws -> [String: [EventNote]]
    func event(_ id: String) async throws -> MaintenanceEvent?
    /// Events, newest first, optionally by status and stream.
    func events(status: EventStatus?, stream: String?) async throws -> [MaintenanceEvent]
}

extension EventRepository {
    /// Stores an event (no note added to its history).
    func saveEvent(_ e: MaintenanceEvent) async throws { try await saveEvent(e, note: nil) }
}

/// Loaded models, their files and per-stream assignments.
protocol ModelRepository: Sendable {
    /// Records a loaded model; `active` makes it the only active one.
    func saveModel(_ m: ModelRecord) async throws
    /// Models, newest first.
    func models() async throws -> [ModelRecord]
    /// The bytes of an uploaded model file, kept in the store so that every server sharing it can load it.
    func saveModelFile(id: String, bytes: Data) async throws
    func modelFile(id: String) async throws -> Data?
    /// Per-stream model assignments: the current model id and the earlier ones (newest last).
    func saveAssignment(stream: String, history: [String]) async throws
    func assignments() async throws -> [String: [String]]
}

/// API tokens (only their hashes).
protocol TokenRepository: Sendable {
    func saveToken(_ t: TokenRecord) async throws
    func token(hash: String) async throws -> TokenRecord?
    /// By id.
    func tokens() async throws -> [TokenRecord]
    /// Marks a token revoked at `time` (a token revoked before keeps its first time).
    ///
    /// - Returns: the token as stored now; nil when no token has that id.
    func revokeToken(id: String, at time: Double) async throws -> TokenRecord?
    /// Records that a token was accepted at `time` (an earlier time never replaces a later one).
    func tokenUsed(id: String, at time: Double) async throws
}
