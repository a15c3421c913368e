import Foundation
import Logging
import ServiceLifecycle

/// How long what the store keeps is kept (`retention.*` settings); 0 days: for ever.
///
/// Days count back from each stream's newest row (or the server's clock, if that is earlier), not
/// from the clock alone: for a live stream that is the same, and data recorded long ago and sent
/// now (a replay, a recorded data set) is not deleted at the next pass. A stream that stopped
/// sending keeps what it has.
public struct RetentionSettings: Sendable, Equatable {
    /// Raw samples; past it they are rolled up into per-second aggregates, and the
    /// acknowledgements of their batches go.
    public var samplesDays = 30.0
    /// The per-second aggregates (min, max, mean per sensor).
    public var aggregatesDays = 365.0
    /// Window scores and sensor transitions.
    public var scoresDays = 90.0
    /// Resolved events and their notes (open and acknowledged events are always kept).
    public var eventsDays = 0.0
    /// Seconds between passes.
    public var interval = 3_600.0
    /// Items per transaction: ingest waits at most for one such transaction.
    var limit = 500
    public init() {}
}

/// What one retention pass removed.
struct RetentionPass: Sendable, Equatable {
    var chunksRolledUp = 0, aggregates = 0, scores = 0, events = 0, acknowledgements = 0
    var total: Int { chunksRolledUp + aggregates + scores + events + acknowledgements }
}

/// Removes what is past its retention from the streams this server serves (in a cluster each
/// server does its own streams), a small transaction at a time with a pause between, so that
/// ingest never waits for more than one.
struct Retention: Sendable {
    let store: any RetentionRepository & StreamRepository
    let live: LiveService
    let settings: RetentionSettings
    let metrics: ServerMetrics
    let clock: @Sendable () -> Double
    /// Between transactions (tests: zero).
    var pause: Duration = .milliseconds(5)

    /// One pass over every stream this server serves.
    func pass() async throws -> RetentionPass {
        var done = RetentionPass()
        for stream in live.servedStreams.sorted() {
            // Never past the server's clock: a row stamped in the future (milliseconds taken for
            // seconds, an edge with a wrong clock) must not make everything before it old.
            guard let last = try await store.stream(stream)?.lastTimestamp else { continue }
            let newest = min(last, clock())
            func cutoff(_ days: Double) -> Double? { days > 0 ? newest - days * 86_400 : nil }
            if let c = cutoff(settings.samplesDays) {
                done.chunksRolledUp += try await repeatUntilDone { try await store.rollUpSamples(stream: stream, before: c, limit: settings.limit) }
                done.acknowledgements += try await repeatUntilDone { try await store.deleteBatchAcks(stream: stream, before: c, limit: settings.limit) }
            }
            if let c = cutoff(settings.aggregatesDays) {
                done.aggregates += try await repeatUntilDone { try await store.deleteAggregates(stream: stream, before: c, limit: settings.limit) }
            }
            if let c = cutoff(settings.scoresDays) {
                done.scores += try await repeatUntilDone { try await store.deleteScores(stream: stream, before: c, limit: settings.limit) }
            }
            if let c = cutoff(settings.eventsDays) {
                done.events += try await repeatUntilDone { try await store.deleteEvents(stream: stream, before: c, limit: settings.limit) }
            }
        }
        metrics.retained(done)
        return done
    }

    private func repeatUntilDone(_ step: () async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let n = try await step()
            total += n
            if n == 0 { break }
            if pause > .zero { try await Task.sleep(for: pause) }
        }
        return total
    }
}

/// Runs a retention pass at start and every ``RetentionSettings/interval`` seconds.
struct RetentionService: Service {
    let retention: Retention
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let done = try await retention.pass()
                    if done.total > 0 {
                        logger.info("retention pass", metadata: [
                            "chunks_rolled_up": "\(done.chunksRolledUp)", "aggregates": "\(done.aggregates)", "scores": "\(done.scores)",
                            "events": "\(done.events)", "acknowledgements": "\(done.acknowledgements)",
                        ])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("retention pass failed", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: .seconds(retention.settings.interval)) } catch { return }
            }
        }
    }
}
