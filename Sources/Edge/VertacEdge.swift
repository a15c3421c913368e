import ArgumentParser

@main
struct VertacEdge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vertac-edge",
        abstract: "VerTac's edge client: machine simulator, CSV replay and buffered uploader.",
        discussion: "Not yet available in this build: the edge client lands with its own issue.",
        version: "0.1.0"
    )

    func run() throws {
        print(Self.helpMessage())
    }
}
