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
        subcommands: [Serve.self, ConfigCommand.self, Token.self, ModelCheckCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Where the settings come from on the command line: a config file, `--set KEY=VALUE` for any
/// setting, and the data's whereabouts (also a token's command needs them).
struct StoreFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Config file (.yaml, .yml or .json); default: $VERTAC_CONFIG.", valueName: "path")) var config: String?
    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Any setting (`vertac-serve config sample` lists them); repeatable. Flags win over VERTAC_* environment variables, which win over the config file.",
        valueName: "key=value")) var settings: [String] = []
    @Option(help: "Data directory: the embedded SQLite store and admin.token (data_dir; default ./vertac-data).") var dataDir: String?
    @Option(help: "PostgreSQL connection URL, postgresql://… (database_url; default: the embedded SQLite store).") var database: String?

    /// Reads the settings, with `named` (key → flag's value and name) from the other flags.
    func load(_ named: [String: (value: String, flag: String)] = [:]) async throws -> ServerConfiguration {
        var flags = named
        for item in settings {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--set \(item): expected KEY=VALUE") }
            flags[parts[0]] = (parts[1], "--set \(parts[0])")
        }
        if let dataDir { flags["data_dir"] = (dataDir, "--data-dir") }
        if let database { flags["database_url"] = (database, "--database") }
        return try await ServerConfiguration.load(file: config, flags: flags)
    }
}

/// The server's own flags; each is also a setting (its key in brackets in the help).
struct ServeFlags: ParsableArguments {
    @Option(help: "Address to listen on (host; default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (port; default 8080).") var port: Int?
    @Option(help: "Model file to score with, .h5 (model).") var model: String?
    @Option(help: "Folder of the dashboard's files (dashboard_dir; default: the copy that ships with the server).") var dashboard: String?
    @OptionGroup var store: StoreFlags
    @Option(help: "On PostgreSQL: where the other servers reach this one (cluster.advertise; default http://HOST:PORT).") var advertise: String?
    @Option(help: "On PostgreSQL: seconds a stream's lease lasts without renewal (cluster.lease_seconds; default 5).")
    var leaseSeconds: Double?

    func load() async throws -> ServerConfiguration {
        var named: [String: (value: String, flag: String)] = [:]
        if let host { named["host"] = (host, "--host") }
        if let port { named["port"] = (String(port), "--port") }
        if let model { named["model"] = (model, "--model") }
        if let dashboard { named["dashboard_dir"] = (dashboard, "--dashboard") }
        if let advertise { named["cluster.advertise"] = (advertise, "--advertise") }
        if let leaseSeconds { named["cluster.lease_seconds"] = (String(leaseSeconds), "--lease-seconds") }
        return try await store.load(named)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @OptionGroup var flags: ServeFlags

    func run() async throws {
        let s = try await flags.load().settings
        Self.limitMallocArenas()
        s.log.bootstrap()
        let logger = Logger(label: "vertac-serve")
        if let file = s.configFile { logger.info("settings read", metadata: ["config": "\(file)"]) }
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
            First start on an empty store: created an admin token (shown once, also in \(s.dataDirectory)/admin.token, mode 0600):
              \(token)
            """)
        }
        try await buildApplication(s, parts: parts, logger: logger).runService()
    }
}

/// `vertac-serve config print|sample`.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show the server's settings.", subcommands: [Print.self, Sample.self])

    struct Print: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective settings and where each comes from (flag, environment, file or default); secrets hidden.")
        @OptionGroup var flags: ServeFlags

        func run() async throws { print(try await flags.load().printed(), terminator: "") }
    }

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a config file with every setting, its default and what it does.")

        func run() throws { print(ServerConfiguration.sample(), terminator: "") }
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
    static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens: id, scope, name, when created, last used and revoked (never the secrets).")
        @OptionGroup var store: StoreFlags

        func run() async throws {
            let s = try await store.load().settings
            print(try await TokenAdministration.list(dataDirectory: s.dataDirectory, databaseURL: s.databaseURL), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: refused from then on (servers on the same PostgreSQL at once, on the same SQLite file within a second).")
        @Argument(help: "The token's id (as `token list` shows it).") var id: String
        @OptionGroup var store: StoreFlags

        func run() async throws {
            let s = try await store.load().settings
            print(try await TokenAdministration.revoke(id: id, dataDirectory: s.dataDirectory, databaseURL: s.databaseURL, now: Date().timeIntervalSince1970))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it once (only its hash is stored).")

        @Option(help: "ingest (edge devices), engineer (review API) or admin (everything).") var scope: TokenScope
        @Option(help: "A name to recognise it by.") var name = "unnamed"
        @OptionGroup var store: StoreFlags

        func run() async throws {
            let s = try await store.load().settings
            let (secret, description) = try await TokenAdministration.create(
                scope: scope, name: name, dataDirectory: s.dataDirectory, databaseURL: s.databaseURL, now: Date().timeIntervalSince1970)
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
