import Foundation
import Logging
import Inference
import Model

/// Loading, validating and recording models. Model bytes — uploaded, stored (possibly before
/// models were checked this strictly) or named by `--model` — are only ever parsed by an
/// ``IsolatedModelReader``'s child process, never by the HDF5 library in the server.
enum ModelRegistry {
    /// Validates bytes as a VerTac model file, stores them and loads them; nothing is stored when
    /// they are refused.
    ///
    /// - Throws: ``ServiceError`` `invalid_model` naming what is wrong (or that the reader
    ///   crashed or timed out), `model_reader_unavailable` when the reader cannot run.
    static func register(bytes: Data, source: String, store: any ModelRepository, pipeline: ScoringPipeline, reader: IsolatedModelReader,
                         now: Double) async throws -> ModelRecord {
        let file = try await read(bytes, name: source, reader: reader)
        var digest = SHA256Digest()
        digest.update([UInt8](bytes))
        let id = String(digest.finalize().prefix(16))
        var record = ModelRecord(id: id, source: source, sensors: file.sensors, window: file.model.window, hidden: file.model.hidden,
                                 createdAt: file.createdAt, trainerVersion: file.trainerVersion, dataSHA256: file.training.dataSHA256,
                                 loadedAt: now, active: false)
        record.windowThreshold = file.calibration.windowThreshold
        record.sensorThresholds = file.calibration.sensorThreshold
        record.trainingLoss = file.training.loss
        record.validationLoss = file.training.validationLoss
        record.hasReference = file.reference != nil
        if let existing = try await store.models().first(where: { $0.id == id }) {
            record.active = existing.active
            record.activatedAt = existing.activatedAt
        }
        try await store.saveModelFile(id: id, bytes: bytes)
        try await store.saveModel(record)
        await pipeline.load(id, file)
        return record
    }

    /// Reads a model file from bytes in a child process.
    static func read(_ bytes: Data, name: String, reader: IsolatedModelReader) async throws -> ModelFile {
        do {
            return try await reader.read(bytes, name: name)
        } catch let e as ModelReaderError {
            guard e.isInvalidModel else { throw ServiceError(.modelReaderUnavailable, "\(e)") }
            throw ServiceError(.invalidModel, "\(e)")
        }
    }

    /// Loads a stored model unless it is loaded already.
    ///
    /// - Throws: ``ServiceError`` `unknown_model`, or `invalid_model` when its stored bytes are refused.
    static func ensureLoaded(_ id: String, store: any ModelRepository, pipeline: ScoringPipeline, reader: IsolatedModelReader) async throws {
        guard await pipeline.loadedModel(id) == nil else { return }
        guard let bytes = try await store.modelFile(id: id) else { throw ServiceError(.unknownModel, "no model \"\(id)\"") }
        await pipeline.load(id, try await read(bytes, name: id, reader: reader))
    }

    /// Loads the stored global model and the per-stream assignments into the pipeline: at start,
    /// and in a cluster whenever another server changed them. A stored model refused now (stored
    /// before models were checked this strictly) is logged and left out: the streams using it are
    /// not scored, and their status says so.
    static func restore(store: any Store, pipeline: ScoringPipeline, reader: IsolatedModelReader, logger: Logger) async throws {
        let stored = try await store.models()
        let assignments = try await store.assignments()
        for id in Set(stored.filter(\.active).map(\.id) + assignments.values.flatMap { $0 }) {
            do {
                try await ensureLoaded(id, store: store, pipeline: pipeline, reader: reader)
            } catch let e as ServiceError where e.code == .invalidModel {
                logger.error("stored model refused", metadata: ["id": "\(id)", "reason": "\(e.message)"])
            }
        }
        await pipeline.restoreAssignments(global: stored.first(where: \.active)?.id, perStream: assignments)
    }

    static func markGlobal(_ id: String, store: any ModelRepository, now: Double) async throws {
        guard var record = try await store.models().first(where: { $0.id == id }) else { return }
        record.active = true
        record.activatedAt = now
        try await store.saveModel(record)
    }
}
