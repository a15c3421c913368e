import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import ServeKit

@main
struct VertacServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vertac-serve",
        abstract: "VerTac's inference server: live ingestion, scoring, cycle and sensor states, review API.",
        version: "0.1.0",
        subcommands: [Serve.self, Token.self, ModelCheckCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Where the data lives: the data directory and, optionally, PostgreSQL.
struct StoreOptions: ParsableArguments {
    @Option(help: "Data directory (the embedded SQLite store and admin.token live here).") var dataDir = "./vertac-data"
    @Option(help: "PostgreSQL connection URL (postgresql://…); default: $VERTAC_DATABASE_URL, else the embedded SQLite store.")
    var database: String?

    var databaseURL: String? { database ?? ProcessInfo.processInfo.environment["VERTAC_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Model file to score with (.h5).") var model: String?
    @Option(help: "Folder of the dashboard's files (default: the copy that ships with the server).") var dashboard: String?
    @OptionGroup var store: StoreOptions
    @Option(help: "On PostgreSQL: where the other servers reach this one (default http://HOST:PORT).") var advertise: String?
    @Option(help: "On PostgreSQL: seconds a stream's lease lasts without renewal; a stopped server's streams move after it.")
    var leaseSeconds = 5.0

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1–65535") }
        guard leaseSeconds >= 1, leaseSeconds <= 600 else { throw ValidationError("--lease-seconds must be 1–600") }
        if let advertise, !(advertise.hasPrefix("http://") || advertise.hasPrefix("https://")) || advertise.count > 512 {
            throw ValidationError("--advertise must be an http:// or https:// URL (at most 512 characters)")
        }
        if let dashboard, DashboardAssets.locate(dashboard) == nil {
            throw ValidationError("--dashboard \(dashboard): no index.html there")
        }
    }

    func run() async throws {
        Self.limitMallocArenas()
        var s = ServerSettings()
        (s.host, s.port, s.dataDirectory, s.modelPath, s.databaseURL) = (host, port, store.dataDir, model, store.databaseURL)
        s.dashboardDirectory = dashboard
        (s.advertiseAddress, s.leaseSeconds) = (advertise, leaseSeconds)
        let logger = Logger(label: "vertac-serve")
        // One server per data directory (a second one stops here, saying why): on SQLite it holds
        // the store, on PostgreSQL the server's node id.
        try FileManager.default.createDirectory(atPath: s.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let lock = try DataDirectoryLock.acquire(directory: s.dataDirectory) { pid in
            FileHandle.standardError.write(Data("waiting up to \(DataDirectoryLock.wait.components.seconds) s for the vertac-serve\(pid.map { " (pid \($0))" } ?? "") on \(s.dataDirectory) to stop\n".utf8))
        }
        defer { withExtendedLifetime(lock) {} }
        let parts = try await makeServerParts(s, logger: logger)
        if let token = parts.initialAdminToken {
            print("""
            First start on an empty store: created an admin token (shown once, also in \(store.dataDir)/admin.token, mode 0600):
              \(token)
            """)
        }
        try await buildApplication(s, parts: parts, logger: logger).runService()
    }
}

extension Serve {
    /// glibc gives threads that contend for the allocator arenas of their own, up to eight per
    /// core, and memory freed in one arena is not reused by another: under a long overload the
    /// server's RSS rose in steps of 25–30 MiB as new threads (database, scoring) made new arenas
    /// (`scripts/bench/overload.sh`: 209 → 259 MiB over 10 minutes; with one arena per core it
    /// stayed within 213–230 MiB). One arena per core (at least two), unless `MALLOC_ARENA_MAX`
    /// says otherwise. Runs before the server starts its threads.
    static func limitMallocArenas() {
        #if canImport(Glibc)
        guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
        // <malloc.h> is not part of Swift's Glibc module: glibc's `mallopt` by name, and its
        // M_ARENA_MAX (-8); absent from another C library, and then nothing changes.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mARENAMAX: Int32 = -8
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mARENAMAX, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        #endif
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it once (only its hash is stored).")

        @Option(help: "ingest (edge devices), engineer (review API) or admin (everything).") var scope: TokenScope
        @Option(help: "A name to recognise it by.") var name = "unnamed"
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let (secret, description) = try await TokenAdministration.create(
                scope: scope, name: name, dataDirectory: store.dataDir, databaseURL: store.databaseURL, now: Date().timeIntervalSince1970)
            print(secret)
            FileHandle.standardError.write(Data("created \(description); it is not shown again\n".utf8))
        }
    }
}

/// The child the server runs to read a model file it did not write (``IsolatedModelReader``):
/// hidden from help, not meant to be run by hand.
struct ModelCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-check",
        abstract: "Read a model file under resource limits and print it for the server.",
        shouldDisplay: false)

    @Argument(help: "Model file (.h5).") var file: String
    @Option(help: "Address-space limit, bytes.") var memoryBytes = 1 << 30
    @Option(help: "CPU-time limit, seconds.") var cpuSeconds = 10
    @Option(help: .hidden) var simulate: ModelCheck.Simulation?

    func run() throws {
        let status = ModelCheck.run(path: file, memoryBytes: memoryBytes, cpuSeconds: cpuSeconds, simulate: simulate)
        if status != 0 { throw ExitCode(status) }
    }
}

extension TokenScope: ExpressibleByArgument {}
extension ModelCheck.Simulation: ExpressibleByArgument {}
