// libFuzzer harness for the CSV reader, `CSVTable.parse(_: Data, path:)` (Sources/TrainerKit/CSVTable.swift).
//
// Built by scripts/fuzz.sh into one module with CSVTable.swift and CSVError.swift (so internal API
// such as `CSVTable.split` is visible), against Timestamp.swift built as the module Inference, and
// linked with `-sanitize=fuzzer,address`. Beyond "no crash" it asserts, for every input:
//
// 1. the answer is a `CSVError` located in the file (line within it, a column only with a line,
//    a column name only with a column), or a table whose shape holds: sensors named, distinct and
//    at least one; values.count == rows × sensors, all finite; times, time texts, labels and cycle
//    ids one per row when present; times within `Timestamp.range` and equal to their text parsed;
//    labels 0 or 1; cycle ids not empty;
// 2. every cell read as a number (sensor values, labels) is a whole number in Swift's
//    floating-point syntax, nothing before or after it, and the value is that number;
// 3. for ASCII input, the table written back as CSV (every field quoted) reads back as the same
//    table.

import Foundation
import Inference

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let table: CSVTable
    do {
        table = try CSVTable.parse(bytes, path: "fuzz.csv")
    } catch let error as CSVError {
        checkError(error, bytes)
        return 0
    } catch {
        violated("parse threw \(error), which is no CSVError")
    }
    // A table comes only from UTF-8 text.
    guard let text = String(data: bytes, encoding: .utf8) else { violated("a table from bytes that are not UTF-8") }
    checkShape(table)
    checkCells(table, text)
    if bytes.allSatisfy({ $0 < 0x80 }) { checkRewrite(table) }
    return 0
}

func checkError(_ error: CSVError, _ bytes: Data) {
    check(error.path == "fuzz.csv", "the error names \(error.path), not the file")
    check(!error.message.isEmpty, "an error without a message")
    check(error.description.hasPrefix("fuzz.csv"), "the error's description \(quoted(error.description)) does not start with the file")
    let lineCount = bytes.count(where: { $0 == UInt8(ascii: "\n") }) + 1
    if let line = error.line {
        // "no data rows" points at line 2 of a file that has only its header line.
        check(line >= 1 && line <= max(lineCount, 2), "error line \(line) in a file of \(lineCount) lines: \(error)")
    }
    if let column = error.column {
        check(error.line != nil, "a column without a line: \(error)")
        check(column >= 1 && column <= bytes.count + 1, "error column \(column) in \(bytes.count) bytes: \(error)")
    } else {
        check(error.columnName == nil, "a column name without a column: \(error)")
    }
}

func checkShape(_ t: CSVTable) {
    let n = t.sensors.count
    check(t.separator == "," || t.separator == ";", "separator \(t.separator)")
    check(n >= 1 && Set(t.sensors).count == n && !t.sensors.contains(""), "sensors \(t.sensors)")
    check(t.rows >= 1, "\(t.rows) rows")
    check(t.values.count == t.rows * n, "\(t.values.count) values for \(t.rows) rows × \(n) sensors")
    check(t.values.allSatisfy(\.isFinite), "a value that is not finite")
    check((t.times == nil) == (t.timeColumn == nil) && (t.times == nil) == (t.timeText == nil), "times, time texts and time column disagree")
    if let times = t.times, let texts = t.timeText {
        check(times.count == t.rows && texts.count == t.rows, "\(times.count) times, \(texts.count) time texts for \(t.rows) rows")
        for (time, text) in zip(times, texts) {
            check(Timestamp.isValid(time), "time \(time) from \(quoted(text)) is outside Timestamp.range")
            check(Timestamp.parse(text) == time, "time text \(quoted(text)) parses to \(String(describing: Timestamp.parse(text))), the table says \(time)")
        }
    }
    for (name, labels) in [("anomaly", t.anomaly), ("changepoint", t.changepoint)] {
        guard let labels else { continue }
        check(labels.count == t.rows, "\(labels.count) \(name) labels for \(t.rows) rows")
        check(labels.allSatisfy { $0 == 0 || $0 == 1 }, "\(name) labels \(labels) other than 0 and 1")
    }
    if let ids = t.cycleIDs {
        check(ids.count == t.rows && !ids.contains(""), "cycle ids \(ids) for \(t.rows) rows")
    }
}

/// Reads the accepted text again, cell by cell, and checks every cell the parser took as a number.
func checkCells(_ t: CSVTable, _ text: String) {
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    if lines[0].hasPrefix("\u{FEFF}") { lines[0] = lines[0].dropFirst() }
    guard let header = try? CSVTable.split(lines[0], t.separator, path: "", line: 1).map({ $0.trimmingCharacters(in: .whitespaces) }) else {
        violated("the header of an accepted table does not split")
    }
    let lower = header.map { $0.lowercased() }
    var numeric: [(column: Int, expected: (Int) -> Float)] = []
    for (j, name) in t.sensors.enumerated() {
        guard let k = header.firstIndex(of: name) else { violated("sensor \(quoted(name)) is not in the header \(header)") }
        numeric.append((k, { row in t.values[row * t.sensors.count + j] }))
    }
    if let labels = t.anomaly, let k = lower.firstIndex(of: "anomaly") { numeric.append((k, { labels[$0] })) }
    if let labels = t.changepoint, let k = lower.firstIndex(of: "changepoint") { numeric.append((k, { labels[$0] })) }
    check(lines.count > t.rows, "\(t.rows) rows from \(lines.count) lines")
    for row in 0..<t.rows {
        guard let cells = try? CSVTable.split(lines[row + 1], t.separator, path: "", line: row + 2), cells.count == header.count else {
            violated("line \(row + 2) of an accepted table does not split into \(header.count) cells")
        }
        for (k, expected) in numeric {
            let cell = cells[k].trimmingCharacters(in: .whitespaces)
            check(isNumber(cell), "line \(row + 2), column \(k + 1): \(quoted(cell)) was read as \(expected(row)), but it is no number")
            check(Float(cell) == expected(row), "line \(row + 2), column \(k + 1): \(quoted(cell)) was read as \(expected(row))")
        }
    }
}

/// Swift's floating-point syntax over the whole text: `[+-]` then decimal digits with an optional
/// `.` fraction and `e` exponent, or `0x` hex digits with an optional fraction and `p` exponent.
func isNumber(_ s: String) -> Bool {
    var u = Array(s.utf8)[...]
    if u.first == UInt8(ascii: "+") || u.first == UInt8(ascii: "-") { u = u.dropFirst() }
    let hex = u.count >= 2 && u[u.startIndex] == UInt8(ascii: "0") && (u[u.startIndex + 1] | 0x20) == UInt8(ascii: "x")
    if hex { u = u.dropFirst(2) }
    func isDigit(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (hex && (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "f"))
    }
    var mantissa = 0
    while let c = u.first, isDigit(c) { u = u.dropFirst(); mantissa += 1 }
    if u.first == UInt8(ascii: ".") {
        u = u.dropFirst()
        while let c = u.first, isDigit(c) { u = u.dropFirst(); mantissa += 1 }
    }
    guard mantissa > 0 else { return false }
    if let c = u.first, (c | 0x20) == (hex ? UInt8(ascii: "p") : UInt8(ascii: "e")) {
        u = u.dropFirst()
        if u.first == UInt8(ascii: "+") || u.first == UInt8(ascii: "-") { u = u.dropFirst() }
        var exponent = 0
        while let c = u.first, c >= 48 && c <= 57 { u = u.dropFirst(); exponent += 1 }
        guard exponent > 0 else { return false }
    }
    return u.isEmpty
}

/// Writes the table back as CSV, every field quoted, and checks that it reads back the same.
func checkRewrite(_ t: CSVTable) {
    // A label column's own name is not kept: write a spelling of it that no sensor has.
    func spelling(_ name: String) -> String? {
        let letters = Array(name)
        for mask in 0..<(1 << letters.count) {
            let s = String(letters.enumerated().map { k, c in mask & (1 << k) != 0 ? Character(c.uppercased()) : c })
            if !t.sensors.contains(s) { return s }
        }
        return nil
    }
    var names: [String] = [], columns: [(Int) -> String] = []
    if let column = t.timeColumn, let texts = t.timeText { names.append(column); columns.append { texts[$0] } }
    for (name, labels) in [("anomaly", t.anomaly), ("changepoint", t.changepoint)] {
        guard let labels else { continue }
        guard let spelt = spelling(name) else { return }
        names.append(spelt)
        columns.append { "\(Int(labels[$0]))" }
    }
    if let ids = t.cycleIDs {
        guard let spelt = spelling("cycle_id") else { return }
        names.append(spelt)
        columns.append { ids[$0] }
    }
    for (j, name) in t.sensors.enumerated() {
        names.append(name)
        columns.append { "\(t.values[$0 * t.sensors.count + j])" }
    }
    // The reader takes the separator that the header has more of, quoted or not.
    let commas = names.joined().count(where: { $0 == "," }), semicolons = names.joined().count(where: { $0 == ";" })
    let sep = semicolons > names.count - 1 + commas ? ";" : ","
    func line(_ fields: [String]) -> String {
        fields.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: sep)
    }
    var out = line(names) + "\n"
    for row in 0..<t.rows { out += line(columns.map { $0(row) }) + "\n" }
    let again: CSVTable
    do { again = try CSVTable.parse(Data(out.utf8), path: "fuzz.csv") } catch {
        violated("the table written back does not read: \(error)\n\(out)")
    }
    let same = again.sensors == t.sensors && again.rows == t.rows && again.values == t.values && again.times == t.times
        && again.timeText == t.timeText && again.timeColumn == t.timeColumn && again.anomaly == t.anomaly
        && again.changepoint == t.changepoint && again.cycleIDs == t.cycleIDs
    check(same, "the table written back reads differently:\n\(out)")
}

func quoted(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\"" }

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { violated(message()) }
}

func violated(_ message: String) -> Never {
    fatalError("PROPERTY VIOLATED: " + message)
}
