import Hummingbird
import NIOCore

/// What operators and their tools read: `/api/health` (public) and `/metrics` (Prometheus text,
/// engineer token — Prometheus sends it with `authorization: {credentials: …}`).
struct OperationsController: Sendable {
    let live: LiveService
    let store: any Store
    let metrics: ServerMetrics

    func addRoutes(to router: Router<VertacRequestContext>, metricsScope: RequireScope<VertacRequestContext>) {
        router.get("api/health", use: health)
        router.group("metrics").add(middleware: metricsScope).get(use: prometheus)
    }

    // MARK: Handlers

    @Sendable func health(_ request: Request, context: VertacRequestContext) async throws -> HealthResponse {
        HealthResponse(status: "ok", version: "0.1.0", streams: live.liveCount, store: store is PostgresStore ? "postgresql" : "sqlite")
    }

    /// Every counter and histogram, with the open events and sensors per state counted now.
    @Sendable func prometheus(_ request: Request, context: VertacRequestContext) async throws -> Response {
        let events = try await store.events(status: nil, stream: nil).filter(\.isOpen).count
        metrics.openEvents.record(events)
        var counts: [String: Int] = [:]
        for st in try await store.streams() {
            for s in try await store.sensorStates(stream: st.id) { counts[s.state.rawValue, default: 0] += 1 }
        }
        metrics.sensorsInState(counts)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
}

struct HealthResponse: ResponseEncodable {
    let status: String
    let version: String
    let streams: Int
    let store: String
}
