import Foundation
import Inference
import Testing
@testable import TrainerKit

/// The line-by-line reader on bytes against the reader it replaced, which split the text on
/// Characters (kept here verbatim as ``LegacyCSV``): the same table or the same error, on seeded
/// random text built from the pieces that tell them apart — line ends with stray carriage returns,
/// quotes, combining marks after separators, non-ASCII spaces, numbers of every syntax.
@Suite struct CSVReaderEquivalenceTests {
    static let pieces = ["1", "-2.5", " 3 ", "\t4\t", "\"5\"", "\"a,b\"", "\"q\"\"q\"", "x", "", "1e3", "0x1p3", "+5", "5.", ".5", "-0",
                         "é", "\u{301}", ";\u{301}", ",\u{301}", "\r", "\u{A0}7", "7\u{2003}", "2022-09-05T13:43:39.000000",
                         "1700000000", "nan", "inf", "16777216", "16777217", "0.1234567891", "0.12345678901", "12345678901234567890",
                         "3.4028236e38", "1\u{0}", "0", "1", "c1", "c2", "\u{FEFF}", "\"", "🙂", "-", "1.5.2", "00012.50"]
    static let ends = ["\n", "\r\n", "\r\r\n", "\r", "\n\n", " \n", "\t\r\n"]
    /// Headers, each with the kind of every column: n number, t time, l label, c cycle id.
    static let headers: [(String, String)] = [
        ("time,a,b", "tnn"), ("a;b;anomaly", "nnl"), ("timestamp,cycle_id,a,changepoint", "tcnl"), ("\u{FEFF}a,b", "nn"),
        ("a,b,c", "nnn"), ("a;\u{301}b;c", "nnn"), ("\"a,b\",c", "nn"), ("time,a,a", "tnn"), ("cycle_id,anomaly", "cl"),
        ("a", "n"), ("A,Anomaly,CYCLE_ID", "nlc"), (" x , y ", "nn"), ("é;b", "nn")]
    static let pools: [Character: [String]] = [
        "n": ["1", "-2.5", " 3 ", "\t4", "\"5\"", "1e3", "0x1p3", "+5", "5.", ".5", "-0", "16777217", "0.1234567891", "00012.50", "7\u{2003}"],
        "t": ["2022-09-05T13:43:39.000000", "1700000000", " 2020-03-09 10:14:33 ", "\"2026-01-11T10:30:45.5Z\"", "2026-01-11T12:30:45+02:00"],
        "l": ["0", "1", "0.0", "1.0", " 1 ", "\"0\""],
        "c": ["c1", "c1", "c2", "é", "\"c,3\"", "c1\u{301}"],
    ]
    func outcome(_ parse: () throws -> CSVTable) -> String {
        do {
            let t = try parse()
            return "table \(t.separator) \(t.sensors) \(t.values.map(\.bitPattern)) \(t.rows) \(String(describing: t.times)) "
                + "\(String(describing: t.timeColumn)) \(String(describing: t.timeText)) \(String(describing: t.anomaly)) "
                + "\(String(describing: t.changepoint)) \(String(describing: t.cycleIDs))"
        } catch { return "error \(error)" }
    }

    @Test func sameTableOrSameErrorAsTheCharacterReader() {
        var rng = SystemRandomNumberGeneratorSeeded(seed: 11)
        var tables = 0
        for _ in 0..<20_000 {
            let (head, kinds) = Self.headers[rng.next(Self.headers.count)]
            var text = head + Self.ends[rng.next(Self.ends.count)]
            let sep = head.contains(";") ? ";" : ","
            let wellFormed = rng.next(2) == 0
            for _ in 0..<rng.next(5) {
                // Mostly cells of the right kind, or anything at all.
                let cells = wellFormed
                    ? kinds.map { kind in rng.next(12) == 0 ? Self.pieces[rng.next(Self.pieces.count)] : Self.pools[kind]![rng.next(Self.pools[kind]!.count)] }
                    : (0..<(1 + rng.next(4))).map { _ in (0..<(1 + rng.next(2))).map { _ in Self.pieces[rng.next(Self.pieces.count)] }.joined() }
                let end = wellFormed && rng.next(3) != 0 ? ["\n", "\r\n"][rng.next(2)] : Self.ends[rng.next(Self.ends.count)]
                text += cells.joined(separator: wellFormed || rng.next(4) != 0 ? sep : (sep == "," ? ";" : ",")) + end
            }
            if rng.next(3) == 0 { text = String(text.dropLast(rng.next(3))) }
            let new = outcome { try CSVTable.parse(Data(text.utf8), path: "f.csv") }
            let old = outcome { try LegacyCSV.parse(String(data: Data(text.utf8), encoding: .utf8)!, path: "f.csv") }
            #expect(new == old, "\(text.debugDescription)")
            if new.hasPrefix("table") { tables += 1 }
        }
        #expect(tables > 1_000) // the inputs reach the happy path too
    }

    @Test func plainDecimalsReadAsFloatReadsThem() {
        var rng = SystemRandomNumberGeneratorSeeded(seed: 3)
        for _ in 0..<200_000 {
            let digits = 1 + rng.next(9), point = rng.next(digits + 1)
            var s = rng.next(2) == 0 ? "-" : ""
            for k in 0..<digits { if k == point && k > 0 { s += "." }; s += String(rng.next(10)) }
            let bytes = Array(s.utf8)
            let fast = bytes.withUnsafeBufferPointer { CSVTable.decimal($0.baseAddress!, 0, bytes.count) }
            if let fast { #expect(fast.bitPattern == Float(s)!.bitPattern, "\(s)") }
        }
    }
}

/// A small seeded generator (SplitMix64) for the inputs above.
struct SystemRandomNumberGeneratorSeeded {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ below: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(below))
    }
}

/// `CSVTable.parse(_: String, path:)` before it read bytes, unchanged.
enum LegacyCSV {
    /// Parses CSV text; `path` names it in errors.
    static func parse(_ text: String, path: String) throws -> CSVTable {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard let headerLine = lines.first, !headerLine.isEmpty else { throw CSVError(path: path, line: 1, message: "empty file: no header row") }
        if headerLine.hasPrefix("\u{FEFF}") { lines[0] = headerLine.dropFirst() }
        let semicolons = lines[0].filter { $0 == ";" }.count, commas = lines[0].filter { $0 == "," }.count
        let sep: Character = semicolons > commas ? ";" : ","
        let header = try CSVTable.split(lines[0], sep, path: path, line: 1).map { $0.trimmingCharacters(in: .whitespaces) }
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
            let cells = try CSVTable.split(raw, sep, path: path, line: lineNo)
            guard cells.count == header.count else {
                throw CSVError(path: path, line: lineNo, message: "\(cells.count) cells, the header has \(header.count)")
            }
            func fail(_ k: Int, _ message: String) -> CSVError {
                CSVError(path: path, line: lineNo, column: k + 1, columnName: header[k], message: message)
            }
            for k in sensorIndices {
                let cell = cells[k].trimmingCharacters(in: .whitespaces)
                guard let v = CSVTable.number(cell), v.isFinite else {
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
                guard let v = CSVTable.number(cell), v == 0 || v == 1 else { throw fail(k, "label \"\(cell)\" is not 0 or 1") }
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

}
