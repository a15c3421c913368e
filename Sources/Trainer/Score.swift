import ArgumentParser
import Foundation
import Model
import TrainerKit

/// `vertac-train score`: per-window scores of a CSV file.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a CSV file with a model: one row per window with its score and per-sensor errors.",
        discussion: """
        Columns: start_row,end_row,timestamp,score, then one column per model sensor (its reconstruction error, \
        scaled units). Rows are counted from 0 over data rows; timestamp is the window's last row's time. \
        Sensors are matched by name; windows never cross a cycle_id boundary.
        """
    )

    @Option(help: "Model file.") var model: String
    @Argument(help: "CSV file to score.") var data: String
    @Option(help: "Rows between windows.") var stride = 1
    @Option(name: .long, help: "Write the scores here instead of standard output.") var out: String?
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard stride > 0, threads > 0 else { throw ValidationError("--stride and --threads must be positive") }
    }

    func run() throws {
        let file = try ModelFile.read(from: model)
        let table = try CSVTable.read(data)
        let cycles = try Dataset.split(table, sensors: file.sensors)
        var csv = "start_row,end_row,timestamp,score," + file.sensors.map(csvField).joined(separator: ",") + "\n"
        var offset = 0
        for c in cycles {
            for w in ModelScoring.score(file, values: c.values, rows: c.rows, stride: stride, threads: threads) {
                let time = c.timeText?[w.endRow] ?? ""
                csv += "\(offset + w.startRow),\(offset + w.endRow),\(csvField(time)),\(w.score),"
                csv += w.errors.map { "\($0)" }.joined(separator: ",") + "\n"
            }
            offset += c.rows
        }
        if let out {
            try csv.write(toFile: out, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(out)\n".utf8))
        } else {
            print(csv, terminator: "")
        }
    }
}

/// Quotes a CSV field when it holds a separator, quote or line break.
func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == ";" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
