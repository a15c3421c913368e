import ArgumentParser
import Foundation
import TrainerKit

/// `vertac-train bench-csv`: times reading CSV files.
struct BenchCSV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-csv",
        abstract: "Time reading CSV files (.csv or .csv.gz): reading and decompressing, then parsing.",
        discussion: "Prints, per file, its rows and sensors and the seconds of each step (the median of --repeats runs)."
    )

    @Argument(help: "CSV files.") var files: [String]
    @Option(help: "Repetitions (the median is reported).") var repeats = 1

    func validate() throws {
        guard repeats > 0 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        for path in files {
            var read: [Double] = [], parse: [Double] = []
            var table: CSVTable?
            for _ in 0..<repeats {
                let t0 = Date()
                let bytes = try CSVTable.bytes(path)
                let t1 = Date()
                table = try CSVTable.parse(bytes, path: path)
                read.append(t1.timeIntervalSince(t0))
                parse.append(Date().timeIntervalSince(t1))
            }
            let t = table!
            func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
            let (r, p) = (median(read), median(parse))
            print(String(format: "%@: %d rows × %d sensors; read %.2f s, parse %.2f s, total %.2f s (%.0f rows/s)",
                         path, t.rows, t.sensors.count, r, p, r + p, Double(t.rows) / (r + p)))
        }
    }
}
