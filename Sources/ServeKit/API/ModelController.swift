import Foundation
import Hummingbird
import Inference
import Model
import NIOCore

/// Model publishing (admin): upload, activate globally or for one stream, roll back — no restart,
/// no dropped samples.
struct ModelController<Context: RequestContext>: Sendable {
    let store: any ModelRepository
    let pipeline: ScoringPipeline
    let live: LiveService
    let clock: @Sendable () -> Double
    /// Reads uploaded and stored model files in a child process.
    let reader: IsolatedModelReader
    /// Largest model file accepted.
    static var maxModelBytes: Int { 64 << 20 }

    func addRoutes(to g: RouterGroup<Context>) {
        g.post { request, _ in
            // This route's own limits: 64 MiB (not the 2 MiB of other requests), two minutes.
            let buffer = try await RequestBody.collect(request, limit: Self.maxModelBytes, timeout: .seconds(120))
            let bytes = Data(buffer: buffer)
            guard !bytes.isEmpty else { throw APIError.badRequest("send the model file (.h5) as the request body") }
            let record = try await ModelRegistry.register(bytes: bytes, source: request.uri.queryParameters.get("name").map { "\($0)" } ?? "upload",
                                                         store: store, pipeline: pipeline, reader: reader, now: clock())
            return record
        }
        g.post("{id}/activate") { request, context in
            let id = try context.parameters.require("id")
            try await ModelRegistry.ensureLoaded(id, store: store, pipeline: pipeline, reader: reader)
            let stream = request.uri.queryParameters.get("stream_id").map { "\($0)" }
            try await live.activate(id, stream: stream)
            if stream == nil { try await ModelRegistry.markGlobal(id, store: store, now: clock()) }
            return ActivationResponse(model_id: id, stream_id: stream, status: "active")
        }
        g.post("{id}/rollback") { request, context in
            let id = try context.parameters.require("id")
            if let stream = request.uri.queryParameters.get("stream_id").map({ "\($0)" }) {
                guard await pipeline.modelID(for: stream) == id else {
                    throw APIError.conflict("not_active", "model \(id) is not the one stream \(stream) uses")
                }
                let now = try await live.rollback(stream: stream)
                let global = await pipeline.globalModel
                return ActivationResponse(model_id: now ?? global ?? "", stream_id: stream, status: "rolled back")
            }
            // Global: back to the model that was active before this one.
            let models = try await store.models()
            guard models.first(where: { $0.active })?.id == id else { throw APIError.conflict("not_active", "model \(id) is not the active model") }
            guard let previous = models.filter({ $0.activatedAt != nil && $0.id != id }).max(by: { $0.activatedAt! < $1.activatedAt! }) else {
                throw APIError.conflict("nothing_to_roll_back", "no model was active before \(id)")
            }
            try await ModelRegistry.ensureLoaded(previous.id, store: store, pipeline: pipeline, reader: reader)
            try await live.activate(previous.id, stream: nil)
            try await ModelRegistry.markGlobal(previous.id, store: store, now: clock())
            return ActivationResponse(model_id: previous.id, stream_id: nil, status: "rolled back")
        }
    }
}

struct ActivationResponse: ResponseEncodable {
    let model_id: String
    let stream_id: String?
    let status: String
}

extension ModelRecord: ResponseEncodable {}

/// Loading, validating and recording models. Model bytes — uploaded, stored (possibly before
/// models were checked this strictly) or named by `--model` — are only ever parsed by an
/// ``IsolatedModelReader``'s child process, never by the HDF5 library in the server.
enum ModelRegistry {
    /// Validates bytes as a VerTac model file, stores them and loads them; nothing is stored when
    /// they are refused.
    ///
    /// - Throws: ``APIError`` 422 `invalid_model` naming what is wrong (or that the reader
    ///   crashed or timed out), 500 when the reader cannot run.
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
            guard e.isInvalidModel else { throw APIError(.internalServerError, "model_reader_unavailable", "\(e)") }
            throw APIError.unprocessable("invalid_model", "\(e)")
        }
    }

    /// Loads a stored model unless it is loaded already.
    ///
    /// - Throws: ``APIError`` 404 for an unknown model, 422 when its stored bytes are refused.
    static func ensureLoaded(_ id: String, store: any ModelRepository, pipeline: ScoringPipeline, reader: IsolatedModelReader) async throws {
        guard await pipeline.loadedModel(id) == nil else { return }
        guard let bytes = try await store.modelFile(id: id) else { throw APIError.notFound("unknown_model", "no model \"\(id)\"") }
        await pipeline.load(id, try await read(bytes, name: id, reader: reader))
    }

    static func markGlobal(_ id: String, store: any ModelRepository, now: Double) async throws {
        guard var record = try await store.models().first(where: { $0.id == id }) else { return }
        record.active = true
        record.activatedAt = now
        try await store.saveModel(record)
    }
}
