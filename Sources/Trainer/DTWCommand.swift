import ArgumentParser
import Foundation
import Inference
import TrainerKit

/// `vertac-train dtw`: compares two cycles.
struct DTWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtw",
        abstract: "DTW distance between two cycles (CSV), per sensor and multivariate (dependent).",
        discussion: "dtaidistance's definitions: cost (a−b)², distance √(min cumulative cost), `window` band. Raw units."
    )

    @Argument(help: "First cycle (CSV).") var a: String
    @Argument(help: "Second cycle (CSV).") var b: String
    @Option(help: "Band (dtaidistance's window); none for full DTW.") var window: Int?
    @Option(help: "Comma-separated sensors (default: every sensor column of the first file).") var sensors: String?
    @Flag(help: "Print {\"sensors\": {...}, \"multivariate\": d}.") var json = false

    func validate() throws {
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
    }

    func run() throws {
        let ta = try CSVTable.read(a), tb = try CSVTable.read(b)
        let names = sensors.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? ta.sensors
        let ca = try Dataset.split(ta, sensors: names), cb = try Dataset.split(tb, sensors: names)
        guard ca.count == 1, cb.count == 1 else { throw ValidationError("each file must hold one cycle (no cycle_id with several values)") }
        let va = ca[0].values, vb = cb[0].values
        let per = DTW.independent(va, vb, sensors: names.count, window: window, threads: 2)
        let multi = DTW.distance(va, vb, dimensions: names.count, window: window)
        if json {
            // Built by hand to keep the documented key order: sensors (in column order), then multivariate.
            let encoder = JSONEncoder()
            func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
            let fields = try zip(names, per).map { "\(try json($0)): \(try json($1))" }
            print("{\"sensors\": {\(fields.joined(separator: ", "))}, \"multivariate\": \(try json(multi))}")
        } else {
            print("DTW \(a) (\(ca[0].rows) rows) vs \(b) (\(cb[0].rows) rows), window \(window.map(String.init) ?? "none")")
            let w = max(12, names.map(\.count).max() ?? 12)
            for (n, d) in zip(names, per) { print("  " + n.padding(toLength: w, withPad: " ", startingAt: 0) + String(format: "  %.6g", d)) }
            print("  " + "multivariate".padding(toLength: w, withPad: " ", startingAt: 0) + String(format: "  %.6g", multi))
        }
    }
}
