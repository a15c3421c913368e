import Foundation
import Inference

/// One CSV file in VerTac's dialect (DESIGN.md "Data: CSV"), parsed.
///
/// Header row; separator `,` or `;` detected from the header; decimal point `.`. The first
/// column named `timestamp`, `time` or `datetime` (any case) is the time; `anomaly` and
/// `changepoint` are labels, never sensors; `cycle_id` splits the file into cycles; every other
/// column is a sensor. A bad cell is an error naming file, line and column.
public struct CSVTable: Sendable {
    public let path: String
    public let separator: Character
    /// Sensor column names, in file order.
    public let sensors: [String]
    /// Row-major sensor values `[rows, sensors]`.
    public let values: [Float]
    public let rows: Int
    /// Seconds since 1970 (UTC when no zone is given), or nil without a time column.
    public let times: [Double]?
    public let timeColumn: String?
    /// The raw time text of each row (for output), or nil.
    public let timeText: [String]?
    public let anomaly: [Float]?
    public let changepoint: [Float]?
    /// Cycle id per row, or nil without a `cycle_id` column.
    public let cycleIDs: [String]?

    /// Parses the bytes of a CSV file, which must be UTF-8 text; `path` names it in errors.
    public static func parse(_ data: Data, path: String) throws -> CSVTable {
        guard let text = String(data: data, encoding: .utf8) else { throw CSVError(path: path, message: "is not UTF-8 text") }
        return try parse(text, path: path)
    }

    /// Parses CSV text; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws -> CSVTable {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard let headerLine = lines.first, !headerLine.isEmpty else { throw CSVError(path: path, line: 1, message: "empty file: no header row") }
        if headerLine.hasPrefix("\u{FEFF}") { lines[0] = headerLine.dropFirst() }
        let semicolons = lines[0].filter { $0 == ";" }.count, commas = lines[0].filter { $0 == "," }.count
        let sep: Character = semicolons > commas ? ";" : ","
        let header = try split(lines[0], sep, path: path, line: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        var seen = Set<String>()
        for (k, name) in header.enumerated() {
            guard !name.isEmpty else { throw CSVError(path: path, line: 1, column: k + 1, message: "empty column name") }
            guard seen.insert(name).inserted else { throw CSVError(path: path, line: 1, column: k + 1, columnName: name, message: "duplicate column name") }
        }
        let lower = header.map { $0.lowercased() }
        let timeIndex = lower.firstIndex { ["timestamp", "time", "datetime"].contains($0) }
        let anomalyIndex = lower.firstIndex(of: "anomaly"), changeIndex = lower.firstIndex(of: "changepoint")
        let cycleIndex = lower.firstIndex(of: "cycle_id")
        let special = Set([timeIndex, anomalyIndex, changeIndex, cycleIndex].compactMap { $0 })
        let sensorIndices = header.indices.filter { !special.contains($0) }
        guard !sensorIndices.isEmpty else { throw CSVError(path: path, line: 1, message: "no sensor columns") }

        let body = lines.dropFirst()
        var values = [Float](), times = [Double](), timeText = [String](), anomaly = [Float](), change = [Float](), cycles = [String]()
        // Every value takes at least a byte of the text: a few bytes of header and many empty lines
        // must not reserve rows × sensors.
        values.reserveCapacity(min(body.count * sensorIndices.count, text.utf8.count))
        for (offset, raw) in body.enumerated() {
            let lineNo = offset + 2
            if raw.isEmpty { throw CSVError(path: path, line: lineNo, message: "empty line") }
            let cells = try split(raw, sep, path: path, line: lineNo)
            guard cells.count == header.count else {
                throw CSVError(path: path, line: lineNo, message: "\(cells.count) cells, the header has \(header.count)")
            }
            func fail(_ k: Int, _ message: String) -> CSVError {
                CSVError(path: path, line: lineNo, column: k + 1, columnName: header[k], message: message)
            }
            for k in sensorIndices {
                let cell = cells[k].trimmingCharacters(in: .whitespaces)
                guard let v = number(cell), v.isFinite else {
                    throw fail(k, cell.isEmpty ? "empty cell" : "\"\(cell)\" is not a finite number")
                }
                values.append(v)
            }
            if let t = timeIndex {
                let cell = cells[t].trimmingCharacters(in: .whitespaces)
                guard let seconds = Timestamp.parse(cell) else {
                    throw fail(t, "\"\(cell)\" is not an ISO 8601 time or epoch seconds")
                }
                times.append(seconds)
                timeText.append(cell)
            }
            for (index, into) in [(anomalyIndex, 0), (changeIndex, 1)] {
                guard let k = index else { continue }
                let cell = cells[k].trimmingCharacters(in: .whitespaces)
                guard let v = number(cell), v == 0 || v == 1 else { throw fail(k, "label \"\(cell)\" is not 0 or 1") }
                if into == 0 { anomaly.append(v) } else { change.append(v) }
            }
            if let c = cycleIndex {
                let id = cells[c].trimmingCharacters(in: .whitespaces)
                guard !id.isEmpty else { throw fail(c, "empty cycle_id") }
                cycles.append(id)
            }
        }
        guard !body.isEmpty else { throw CSVError(path: path, line: 2, message: "no data rows") }
        return CSVTable(path: path, separator: sep, sensors: sensorIndices.map { header[$0] }, values: values, rows: body.count,
                        times: timeIndex == nil ? nil : times, timeColumn: timeIndex.map { header[$0] },
                        timeText: timeIndex == nil ? nil : timeText, anomaly: anomalyIndex == nil ? nil : anomaly,
                        changepoint: changeIndex == nil ? nil : change, cycleIDs: cycleIndex == nil ? nil : cycles)
    }

    /// The number a cell holds. Not `Float(cell)` alone: it stops at a NUL and ignores the rest
    /// ("5\0abc" would be 5).
    static func number(_ cell: String) -> Float? { cell.utf8.contains(0) ? nil : Float(cell) }

    /// Splits one line on `sep`, honouring double-quoted fields (`""` is a quote inside one).
    static func split(_ line: Substring, _ sep: Character, path: String, line number: Int) throws -> [String] {
        if !line.contains("\"") { return line.split(separator: sep, omittingEmptySubsequences: false).map(String.init) }
        var cells: [String] = [], cell = "", quoted = false
        var it = line.makeIterator()
        var pending: Character? = nil
        while let ch = pending ?? it.next() {
            pending = nil
            if quoted {
                if ch == "\"" {
                    if let next = it.next() {
                        if next == "\"" { cell.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { cell.append(ch) }
            } else if ch == "\"" {
                quoted = true
            } else if ch == sep {
                cells.append(cell); cell = ""
            } else { cell.append(ch) }
        }
        if quoted { throw CSVError(path: path, line: number, message: "unterminated quoted field") }
        cells.append(cell)
        return cells
    }
}
