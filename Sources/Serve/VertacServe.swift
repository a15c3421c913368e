import ArgumentParser

@main
struct VertacServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vertac-serve",
        abstract: "VerTac's inference server: live ingestion, scoring, cycle and sensor states, review API.",
        discussion: "Not yet available in this build: the server lands with its own issue.",
        version: "0.1.0"
    )

    func run() throws {
        print(Self.helpMessage())
    }
}
