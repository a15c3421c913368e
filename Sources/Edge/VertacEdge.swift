import ArgumentParser

@main
struct VertacEdge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vertac-edge",
        abstract: "VerTac's edge client: machine simulator and buffered uploader.",
        version: "0.1.0",
        subcommands: [Simulate.self, Stream.self, Watch.self, Load.self]
    )
}
