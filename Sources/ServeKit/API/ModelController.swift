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

    /// - Parameter forward: in a cluster, activation and rollback for one stream go to the
    ///   stream's owner (``ForwardToOwner``); uploads are stored wherever they arrive.
    func addRoutes(to g: RouterGroup<Context>, forward: Bool = false) {
        g.post(use: upload)
        let owned = forward ? g.add(middleware: ForwardToOwner()) : g
        owned.post("{id}/activate", use: activate)
        owned.post("{id}/rollback", use: rollback)
    }

    /// Tells the other servers of a cluster to read the models and assignments again.
    private func announce() { live.cluster?.bus?.send(.models) }

    // MARK: Handlers

    /// The model file as the body (`?name=` names its source); stored and loaded, not activated.
    @Sendable func upload(_ request: Request, context: Context) async throws -> ModelView {
        // This route's own limits: 64 MiB (not the 2 MiB of other requests), two minutes.
        let buffer = try await RequestBody.collect(request, limit: Self.maxModelBytes, timeout: .seconds(120))
        let bytes = Data(buffer: buffer)
        guard !bytes.isEmpty else { throw APIError.badRequest("send the model file (.h5) as the request body") }
        let record = try await ModelRegistry.register(bytes: bytes, source: request.uri.queryParameters.get("name").map { "\($0)" } ?? "upload",
                                                     store: store, pipeline: pipeline, reader: reader, now: clock())
        return ModelView(record)
    }

    @Sendable func activate(_ request: Request, context: Context) async throws -> ActivationResponse {
        let id = try context.parameters.require("id")
        let stream = request.uri.queryParameters.get("stream_id").map { "\($0)" }
        // In a cluster, activation for one stream is its owner's work (forwarded there).
        if let stream { _ = try await live.owner(stream) }
        try await ModelRegistry.ensureLoaded(id, store: store, pipeline: pipeline, reader: reader)
        try await live.activate(id, stream: stream)
        if stream == nil { try await ModelRegistry.markGlobal(id, store: store, now: clock()) }
        announce()
        return ActivationResponse(model_id: id, stream_id: stream, status: "active")
    }

    @Sendable func rollback(_ request: Request, context: Context) async throws -> ActivationResponse {
        let id = try context.parameters.require("id")
        if let stream = request.uri.queryParameters.get("stream_id").map({ "\($0)" }) {
            // In a cluster the stream's owner decides (its assignments are the ones in force).
            _ = try await live.owner(stream)
            guard await pipeline.modelID(for: stream) == id else {
                throw APIError.conflict("not_active", "model \(id) is not the one stream \(stream) uses")
            }
            let now = try await live.rollback(stream: stream)
            announce()
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
        announce()
        return ActivationResponse(model_id: previous.id, stream_id: nil, status: "rolled back")
    }

}

struct ActivationResponse: ResponseEncodable {
    let model_id: String
    let stream_id: String?
    let status: String
}

/// A model as the API shows it (`ModelRecord`'s fields under the same names).
struct ModelView: ResponseEncodable {
    let id: String
    let source: String
    let sensors: [String]
    let window: Int
    let hidden: Int
    let createdAt: String
    let trainerVersion: String
    let dataSHA256: String
    let loadedAt: Double
    let active: Bool
    let activatedAt: Double?
    let windowThreshold: Float?
    let sensorThresholds: [Float]?
    let trainingLoss: [Float]?
    let validationLoss: [Float]?
    let hasReference: Bool?

    init(_ r: ModelRecord) {
        (id, source, sensors, window, hidden, createdAt) = (r.id, r.source, r.sensors, r.window, r.hidden, r.createdAt)
        (trainerVersion, dataSHA256, loadedAt, active, activatedAt) = (r.trainerVersion, r.dataSHA256, r.loadedAt, r.active, r.activatedAt)
        (windowThreshold, sensorThresholds, trainingLoss) = (r.windowThreshold, r.sensorThresholds, r.trainingLoss)
        (validationLoss, hasReference) = (r.validationLoss, r.hasReference)
    }
}
