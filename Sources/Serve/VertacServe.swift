import ArgumentParser
import Foundation
import Hummingbird
import ServeKit

@main
struct VertacServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vertac-serve",
        abstract: "VerTac's inference server: live ingestion, cycle states and the VerTac live API.",
        discussion: "In progress: ingestion, cycle control and status are served; scoring, the review API and the dashboard follow.",
        version: "0.1.0"
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Data directory (the embedded SQLite store lives here).") var dataDir = "./vertac-data"
    @Option(help: "Model file to score with (.h5).") var model: String?
    @Option(help: "PostgreSQL connection URL (postgresql://…); default: $VERTAC_DATABASE_URL, else the embedded SQLite store.")
    var database: String?

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1–65535") }
    }

    func run() async throws {
        var s = ServerSettings()
        (s.host, s.port, s.dataDirectory, s.modelPath) = (host, port, dataDir, model)
        s.databaseURL = database ?? ProcessInfo.processInfo.environment["VERTAC_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let app = try await buildApplication(s)
        try await app.runService()
    }
}
