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
        var text = metrics.exposition()
        let streams = await live.gauges()
        let store = store
        let health = await metrics.cycleHealth.values(for: streams.map(\.stream)) { stream in
            try await store.cycles(stream: stream).first { $0.healthScore != nil }?.healthScore
        }
        text += StreamGauges.exposition(streams, health: health, now: live.context.clock())
        if let cluster = live.cluster, let repository = store as? any ClusterRepository {
            // Left out when the database does not answer: the server's own figures still go out.
            text += (try? await Self.clusterGauges(repository, this: cluster.id, leaseSeconds: cluster.settings.leaseSeconds)) ?? ""
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The cluster as the database sees it now, one series per announced node: the streams it
    /// owns, the age of its heartbeat and of its oldest lease renewal (from the lease length
    /// `leaseSeconds`, which the servers of a cluster share). Written here, not kept in the
    /// registry, so that a node that left has no series.
    static func clusterGauges(_ repository: any ClusterRepository, this node: String, leaseSeconds: Double) async throws -> String {
        let (now, nodes) = try await repository.nodes()
        let leases = try await repository.leases().filter { $0.expiresAt > now }
        func label(_ id: String) -> String { PrometheusLabels.text(["node": id]) }
        func number(_ x: Double) -> String { String(format: "%.3f", max(0, x)) }
        var out = "# HELP vertac_cluster_nodes Servers announced in the cluster\n# TYPE vertac_cluster_nodes gauge\n"
        out += "vertac_cluster_nodes \(nodes.count)\n"
        out += "# HELP vertac_cluster_node_info The server that answered (1)\n# TYPE vertac_cluster_node_info gauge\n"
        out += "vertac_cluster_node_info\(label(node)) 1\n"
        out += "# HELP vertac_cluster_streams Streams whose live lease a node holds\n# TYPE vertac_cluster_streams gauge\n"
        for n in nodes { out += "vertac_cluster_streams\(label(n.id)) \(leases.count { $0.node == n.id })\n" }
        out += "# HELP vertac_cluster_heartbeat_age_seconds Seconds since a node's last heartbeat\n"
        out += "# TYPE vertac_cluster_heartbeat_age_seconds gauge\n"
        for n in nodes { out += "vertac_cluster_heartbeat_age_seconds\(label(n.id)) \(number(now - n.heartbeatAt))\n" }
        out += "# HELP vertac_cluster_lease_age_seconds Seconds since the renewal of a node's oldest live lease\n"
        out += "# TYPE vertac_cluster_lease_age_seconds gauge\n"
        for n in nodes {
            let own = leases.filter { $0.node == n.id }
            guard let first = own.map(\.expiresAt).min() else { continue }
            out += "vertac_cluster_lease_age_seconds\(label(n.id)) \(number(leaseSeconds - (first - now)))\n"
        }
        return out
    }
}

struct HealthResponse: ResponseEncodable {
    let status: String
    let version: String
    let streams: Int
    let store: String
}
