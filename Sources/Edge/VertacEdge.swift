import ArgumentParser

@main
struct VertacEdge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vertac-edge",
        abstract: "VerTac's edge client: machine simulator (streaming to the server lands with the server).",
        version: "0.1.0",
        subcommands: [Simulate.self]
    )
}
