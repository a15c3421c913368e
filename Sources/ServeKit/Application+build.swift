import Foundation
import Inference
import Hummingbird
import HummingbirdWebSocket
import Logging
import Model
import ServiceLifecycle

/// How `vertac-serve` was started.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./vertac-data"
    public var modelPath: String?
    public var databaseURL: String?
    /// On PostgreSQL, where the other servers of the cluster reach this one (default
    /// `http://HOST:PORT`, with 127.0.0.1 for a wildcard host).
    public var advertiseAddress: String?
    /// On PostgreSQL, how long a stream's lease lasts without renewal (`docs/scale-out.md`).
    public var leaseSeconds = 5.0
    var tickInterval: Duration = .seconds(1)
    /// The server's clock (seconds since 1970); tests pass a manual one.
    var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    /// Run the clock and scoring services in the background. Tests that move time and flush by
    /// hand turn this off.
    var backgroundServices = true
    /// Requests per second and burst allowed per token.
    var rateLimit = (rate: 500.0, burst: 1_000.0)
    /// Ingest answers 503 with Retry-After while more windows than this wait to be scored.
    var maxQueuedWindows = 50_000
    /// The dashboard's static files; nil finds the copy that ships with the server.
    public var dashboardDirectory: String?
    /// How model files are read: in a resource-limited child process.
    var modelReader = ModelReaderSettings()
    /// Connection cap and timeouts (the cap is lowered to fit the open-file limit at start).
    var connections = ConnectionLimits()
    /// How streams are judged — window stride, stale time, sensor and maintenance settings, the
    /// cycle's grace period and sample timeout: one value, used by ingest and scoring alike.
    var monitor = MonitorSettings()
    /// How long a token lookup is trusted (a revocation elsewhere than through this server's API
    /// or the cluster's notices takes this long).
    var tokenCacheSeconds = 1.0
    /// How long samples, aggregates, scores and events are kept.
    public var retention = RetentionSettings()
    /// Log format and level.
    public var log = LogSettings()
    /// The config file the settings were read from, if any (said in the start's log line).
    public var configFile: String?
    public init() {}
}

/// Ticks the live service's clock: grace periods end and silent cycles abort without a request.
struct ClockService: Service {
    let live: LiveService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await Task.sleep(for: interval)
            } catch { return }
            do { try await live.tick() } catch { logger.error("tick failed", metadata: ["error": "\(error)"]) }
        }
    }
}

/// Flushes the scoring queue as soon as windows wait; those that arrive during a flush go in the
/// next one (the delay is bounded by one flush, and the batches grow with the load).
struct ScoringService: Service {
    let pipeline: ScoringPipeline
    let logger: Logger

    func run() async throws {
        let arrivals = pipeline.queue.arrivals
        await cancelWhenGracefulShutdown {
            for await _ in arrivals { await pipeline.flushOverlapping() }
        }
        // Finish what was acknowledged before stopping.
        await pipeline.flush()
        await pipeline.drainReports()
    }
}

/// Keeps this server in its cluster: a round every third of a lease (heartbeat, renewals,
/// streams taken and handed over); at a clean stop it leaves, so its streams move at once.
struct ClusterService: Service {
    let node: ClusterNode
    /// Takes up the other servers' notices (``ServerParts/follow(_:)``).
    let follow: @Sendable (ClusterBus.Notice) async -> Void
    let hub: LiveHub
    let logger: Logger

    func run() async throws {
        let interval = Duration.milliseconds(Int(node.settings.leaseSeconds * 1000 / 3))
        await cancelWhenGracefulShutdown {
            // Heartbeats and renewals in a loop of their own: a long handover never delays them.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: interval) } catch { return }
                        do { try await node.keepAlive() } catch { logger.error("cluster heartbeat failed", metadata: ["error": "\(error)"]) }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: interval) } catch { return }
                        do { try await node.rebalance() } catch { logger.error("cluster rebalance failed", metadata: ["error": "\(error)"]) }
                    }
                }
                if let bus = node.bus {
                    group.addTask {
                        while !Task.isCancelled {
                            do { try await bus.run(receive: follow) } catch { logger.error("cluster notices failed", metadata: ["error": "\(error)"]) }
                            do { try await Task.sleep(for: .seconds(1)) } catch { return }
                        }
                    }
                    // The streams this server's review sockets follow, told to their owners.
                    group.addTask {
                        while !Task.isCancelled {
                            do { try await Task.sleep(for: LiveHub.watchInterval) } catch { return }
                            await hub.announceWatch()
                        }
                    }
                }
            }
        }
        await node.leave()
    }
}

/// The parts of a running server, for the routes and the tests.
public struct ServerParts: Sendable {
    let store: any Store
    let live: LiveService
    let pipeline: ScoringPipeline
    let hub: LiveHub
    let verifier: TokenVerifier
    let metrics: ServerMetrics
    /// On PostgreSQL, this server's membership of the cluster.
    let cluster: ClusterNode?
    /// Reads model files (in a child process).
    let reader: IsolatedModelReader
    let logger: Logger
    /// The admin token created on the first start on an empty store (shown once), else nil.
    public let initialAdminToken: String?
}

/// Opens the store, loads the model and restores every stream.
public func makeServerParts(_ s: ServerSettings, logger: Logger) async throws -> ServerParts {
    // The data folder holds the store and the admin token: the server's user only.
    try FileManager.default.createDirectory(atPath: s.dataDirectory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: s.dataDirectory)
    let store: any Store
    var cluster: ClusterNode?
    var bus: ClusterBus?
    let metrics = ServerMetrics()
    if let url = s.databaseURL {
        // Servers on one PostgreSQL form a cluster: each owns the streams its leases give it.
        let fences = FenceBook()
        // A session stuck in a transaction (its server stopped) is ended after a lease, at
        // least 2 s: the streams' new owner waits for its row locks no longer than that.
        let pg = try await PostgresStore.open(url: url, fences: fences, idleTransactionSeconds: max(2, s.leaseSeconds))
        store = pg
        var c = ClusterSettings()
        c.nodeID = try NodeIdentity.load(dataDirectory: s.dataDirectory)
        c.address = s.advertiseAddress ?? "http://\(["0.0.0.0", "::", ""].contains(s.host) ? "127.0.0.1" : s.host):\(s.port)"
        c.leaseSeconds = s.leaseSeconds
        if s.advertiseAddress == nil, ["0.0.0.0", "::", ""].contains(s.host) {
            logger.warning("listening on every address without --advertise: the other servers of the cluster are told \(c.address), which only works when they run on this machine")
        }
        bus = ClusterBus(node: c.nodeID, store: pg, metrics: metrics, logger: logger)
        cluster = ClusterNode(settings: c, fences: fences, store: pg, bus: bus, logger: logger)
        logger.info("store: PostgreSQL", metadata: ["node": "\(c.nodeID)", "address": "\(c.address)", "lease_s": "\(c.leaseSeconds)"])
    } else {
        let path = (s.dataDirectory as NSString).appendingPathComponent("vertac.sqlite")
        // SQLite gives its -wal and -shm files the database file's mode.
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        store = try SQLiteStore(path: path)
        logger.info("store: SQLite", metadata: ["path": "\(s.dataDirectory)/vertac.sqlite"])
    }
    // In a cluster, pushes also go to the other servers' sockets (LiveHub.share).
    let hub = LiveHub(metrics: metrics, bus: bus)
    let pipeline = ScoringPipeline(store: store, hub: hub, settings: s.monitor, metrics: metrics, logger: logger)
    var limits = IngestLimits()
    limits.maxQueuedWindows = s.maxQueuedWindows
    let live = LiveService(store: store, pipeline: pipeline, limits: limits, cluster: cluster, clock: s.clock)
    // Models: the stored global model and per-stream assignments, then --model (which becomes the
    // global model).
    let reader = IsolatedModelReader(s.modelReader)
    try await ModelRegistry.restore(store: store, pipeline: pipeline, reader: reader, logger: logger)
    if let path = s.modelPath {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw ModelFileError.notReadable(path) }
        let record = try await ModelRegistry.register(bytes: bytes, source: path, store: store, pipeline: pipeline, reader: reader, now: s.clock())
        if !record.active {
            try await ModelRegistry.markGlobal(record.id, store: store, now: s.clock())
            // In a cluster the others take it up too (sent once this server listens).
            bus?.send(.models)
        }
        await pipeline.restoreAssignments(global: record.id, perStream: try await store.assignments())
        logger.info("model loaded", metadata: ["path": "\(path)", "id": "\(record.id)", "sensors": "\(record.sensors.count)"])
    }
    try await live.restore()
    if let cluster {
        // Joins and takes its streams before it answers: a server alone owns every stream now.
        await cluster.attach(live)
        try await cluster.join()
        try await cluster.round()
    }
    let token = try await Tokens.bootstrap(store: store, dataDirectory: s.dataDirectory, now: s.clock())
    return ServerParts(store: store, live: live, pipeline: pipeline, hub: hub, verifier: TokenVerifier(store: store, ttl: s.tokenCacheSeconds, clock: s.clock),
                       metrics: metrics, cluster: cluster, reader: reader, logger: logger, initialAdminToken: token)
}

extension ServerParts {
    /// Takes up a notice from another server of the cluster (``ClusterBus``): models read again
    /// and the streams served here switched; another owner's push relayed to the sockets here.
    func follow(_ notice: ClusterBus.Notice) async {
        switch notice {
        case .tokens:
            await verifier.forgetAll()
        case .models, .resync:
            if notice == .resync { await verifier.forgetAll() }
            do {
                try await ModelRegistry.restore(store: store, pipeline: pipeline, reader: reader, logger: logger)
                try await live.reconcileModels()
            } catch {
                logger.error("reading the cluster's model assignments failed", metadata: ["error": "\(error)"])
            }
        case .push(let stream, let review, let legacy, let event, let signal):
            await hub.relay(stream: stream, review: review, legacy: legacy, event: event, signal: signal)
        case .watch(let streams, let signal):
            await hub.remoteWatch(streams: streams, signal: signal)
        }
    }
}

/// Builds the server: storage, live service, routes. `@main` and the tests call this.
func buildApplication(_ s: ServerSettings, logger: Logger = Logger(label: "vertac-serve")) async throws -> some ApplicationProtocol {
    try await buildApplication(s, parts: try await makeServerParts(s, logger: logger), logger: logger)
}

public func buildApplication(_ s: ServerSettings, parts: ServerParts, logger: Logger = Logger(label: "vertac-serve")) async throws
    -> some ApplicationProtocol
{
    let live = parts.live
    let router = Router(context: VertacRequestContext.self)
    router.middlewares.add(SecurityHeadersMiddleware())
    router.middlewares.add(RequestMetricsMiddleware(metrics: parts.metrics))
    router.middlewares.add(ErrorShapeMiddleware())
    // The dashboard at `/`: what no route answers is looked up among its files (public: the page
    // asks for a token before it reads anything).
    if let dashboard = DashboardAssets.locate(s.dashboardDirectory) {
        router.middlewares.add(FileMiddleware(dashboard, cacheControl: .init([(MediaType(type: .any), [.noCache])]),
                                              searchForIndexHtml: true, logger: logger))
    } else {
        logger.warning("dashboard files not found; / serves nothing (pass --dashboard DIR)")
    }
    let limiter = RateLimiter(rate: s.rateLimit.rate, burst: s.rateLimit.burst)
    let liveRoutes = router.group("api/live").add(middleware: RequireScope(verifier: parts.verifier, scope: .ingest, limiter: limiter))
    LiveController(live: live).addRoutes(to: parts.cluster == nil ? liveRoutes : liveRoutes.add(middleware: ForwardToOwner()))
    let sockets = WebSocketController(live: live, hub: parts.hub, verifier: parts.verifier, limiter: limiter, logger: logger)
    sockets.addRoutes(to: router)
    let reader = IsolatedModelReader(s.modelReader)
    ModelController(store: parts.store, pipeline: parts.pipeline, live: live, clock: s.clock, reader: reader)
        .addRoutes(to: router.group("api/v1/models").add(middleware: RequireScope(verifier: parts.verifier, scope: .admin)),
                   forward: parts.cluster != nil)
    let reviewRoutes = router.group("api/v1").add(middleware: RequireScope(verifier: parts.verifier, scope: .engineer, limiter: limiter))
    ReviewController(store: parts.store, live: live, pipeline: parts.pipeline, reader: reader)
        .addRoutes(to: parts.cluster == nil ? reviewRoutes : reviewRoutes.add(middleware: ForwardToOwner()))
    TokenController(store: parts.store, verifier: parts.verifier, bus: parts.cluster?.bus, clock: s.clock, logger: logger)
        .addRoutes(to: router.group("api/v1/tokens").add(middleware: RequireScope(verifier: parts.verifier, scope: .admin)))
    let metrics = parts.metrics
    OperationsController(live: live, store: parts.store, metrics: metrics)
        .addRoutes(to: router, metricsScope: RequireScope(verifier: parts.verifier, scope: .engineer))
    var limits = s.connections
    limits.maxConnections = min(limits.maxConnections, ConnectionLimits.raiseDescriptorLimit())
    logger.info("connections", metadata: ["max": "\(limits.maxConnections)", "header_timeout_s": "\(limits.headerTimeout.components.seconds)"])
    let gate = ConnectionGate(limit: limits.maxConnections)
    return Application(
        router: router,
        server: .guarded(router: router, limits: limits, gate: gate, checkUpgrade: { await sockets.refusal($0) },
                         onRefused: { metrics.connectionsRejected.increment() }),
        configuration: .init(address: .hostname(s.host, port: s.port), serverName: "vertac-serve"),
        // Graceful shutdown runs in reverse order: scoring finishes before the node leaves.
        services: s.backgroundServices ? (parts.cluster.map { [ClusterService(node: $0, follow: parts.follow, hub: parts.hub, logger: logger) as any Service] } ?? [])
            + [ClockService(live: live, interval: s.tickInterval, logger: logger), ScoringService(pipeline: parts.pipeline, logger: logger),
               RetentionService(retention: Retention(store: parts.store, live: live, settings: s.retention, metrics: parts.metrics, clock: s.clock),
                                logger: logger)] : [],
        logger: logger
    )
}
