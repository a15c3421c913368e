import NIOPosix

/// Runs blocking work (libpq) on NIO's shared thread pool, off the event loops.
enum NIOThreadPoolRunner {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
