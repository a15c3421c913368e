import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle

/// How `vertac-serve` was started.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./vertac-data"
    public var modelPath: String?
    public var databaseURL: String?
    public var tickInterval: Duration = .seconds(1)
    public init() {}
}

struct HealthResponse: ResponseEncodable {
    let status: String
    let version: String
    let streams: Int
    let store: String
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

/// Builds the server: storage, live service, routes. `@main` and the tests call this.
public func buildApplication(_ s: ServerSettings, logger: Logger = Logger(label: "vertac-serve")) async throws -> some ApplicationProtocol {
    try FileManager.default.createDirectory(atPath: s.dataDirectory, withIntermediateDirectories: true)
    let store = try SQLiteStore(path: (s.dataDirectory as NSString).appendingPathComponent("vertac.sqlite"))
    let live = LiveService(store: store)
    try await live.restore()
    let router = Router(context: BasicWebSocketRequestContext.self)
    router.middlewares.add(ErrorShapeMiddleware())
    LiveController(live: live).addRoutes(to: router.group("api/live"))
    router.get("api/health") { _, _ in
        HealthResponse(status: "ok", version: "0.1.0", streams: await live.streamCount(), store: "sqlite")
    }
    return Application(
        router: router,
        server: .http1WebSocketUpgrade(webSocketRouter: router),
        configuration: .init(address: .hostname(s.host, port: s.port), serverName: "vertac-serve"),
        services: [ClockService(live: live, interval: s.tickInterval, logger: logger)],
        logger: logger
    )
}

extension LiveService {
    func streamCount() -> Int { liveCount }
}
