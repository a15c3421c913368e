import Foundation
import Hummingbird
import Inference
import Model

/// Model publishing (admin): upload, activate globally or for one stream, roll back — no restart,
/// no dropped samples.
struct ModelController<Context: RequestContext>: Sendable {
    let store: any Store
    let pipeline: ScoringPipeline
    let live: LiveService
    let clock: @Sendable () -> Double
    /// Largest model file accepted.
    static var maxModelBytes: Int { 64 << 20 }

    func addRoutes(to g: RouterGroup<Context>) {
        g.post { request, _ in
            let buffer = try await request.body.collect(upTo: Self.maxModelBytes)
            let bytes = Data(buffer: buffer)
            guard !bytes.isEmpty else { throw APIError.badRequest("send the model file (.h5) as the request body") }
            let record = try await ModelRegistry.register(bytes: bytes, source: request.uri.queryParameters.get("name").map { "\($0)" } ?? "upload",
                                                         store: store, pipeline: pipeline, now: clock())
            return record
        }
        g.post("{id}/activate") { request, context in
            let id = try context.parameters.require("id")
            try await ModelRegistry.ensureLoaded(id, store: store, pipeline: pipeline)
            let stream = request.uri.queryParameters.get("stream_id").map { "\($0)" }
            try await pipeline.activate(id, stream: stream)
            if stream == nil { try await ModelRegistry.markGlobal(id, store: store, now: clock()) }
            return ActivationResponse(model_id: id, stream_id: stream, status: "active")
        }
        g.post("{id}/rollback") { request, context in
            let id = try context.parameters.require("id")
            if let stream = request.uri.queryParameters.get("stream_id").map({ "\($0)" }) {
                guard await pipeline.modelID(for: stream) == id else {
                    throw APIError.conflict("not_active", "model \(id) is not the one stream \(stream) uses")
                }
                let now = try await pipeline.rollback(stream: stream)
                let global = await pipeline.globalModel
                return ActivationResponse(model_id: now ?? global ?? "", stream_id: stream, status: "rolled back")
            }
            // Global: back to the model that was active before this one.
            let models = try await store.models()
            guard models.first(where: { $0.active })?.id == id else { throw APIError.conflict("not_active", "model \(id) is not the active model") }
            guard let previous = models.filter({ $0.activatedAt != nil && $0.id != id }).max(by: { $0.activatedAt! < $1.activatedAt! }) else {
                throw APIError.conflict("nothing_to_roll_back", "no model was active before \(id)")
            }
            try await ModelRegistry.ensureLoaded(previous.id, store: store, pipeline: pipeline)
            try await pipeline.activate(previous.id, stream: nil)
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

/// Loading, validating and recording models.
enum ModelRegistry {
    /// Validates bytes as a VerTac model file (with the HDF5 reader), stores them and loads them.
    static func register(bytes: Data, source: String, store: any Store, pipeline: ScoringPipeline, now: Double) async throws -> ModelRecord {
        let file = try read(bytes)
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

    /// Reads a model file from bytes (the HDF5 library reads files: a private temporary one).
    static func read(_ bytes: Data) throws -> ModelFile {
        let path = NSTemporaryDirectory() + "vertac-model-\(UUID().uuidString).h5"
        guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw APIError(.internalServerError, "temp_file", "cannot write a temporary file")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            return try ModelFile.read(from: path)
        } catch let e as ModelFileError {
            throw APIError.unprocessable("invalid_model", "\(e)".replacingOccurrences(of: path + ": ", with: ""))
        }
    }

    static func ensureLoaded(_ id: String, store: any Store, pipeline: ScoringPipeline) async throws {
        guard await pipeline.loadedModel(id) == nil else { return }
        guard let bytes = try await store.modelFile(id: id) else { throw APIError.notFound("unknown_model", "no model \"\(id)\"") }
        await pipeline.load(id, try read(bytes))
    }

    static func markGlobal(_ id: String, store: any Store, now: Double) async throws {
        guard var record = try await store.models().first(where: { $0.id == id }) else { return }
        record.active = true
        record.activatedAt = now
        try await store.saveModel(record)
    }
}
