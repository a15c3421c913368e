import ArgumentParser

@main
struct VertacTrain: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "vertac-train",
        abstract: "Train, calibrate and benchmark VerTac's LSTM autoencoder.",
        version: version,
        subcommands: [Fit.self, Calibrate.self, Score.self, Evaluate.self, Inspect.self, DTWCommand.self, Bench.self, BenchDTW.self, BenchReport.self, BenchCSV.self]
    )
}
