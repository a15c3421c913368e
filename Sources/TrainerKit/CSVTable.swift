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
        var text = text
        return try text.withUTF8 { try parse(utf8: $0, path: path) }
    }

    /// Parses the UTF-8 bytes of valid text.
    ///
    /// Lines are found on bytes. A line with a quote or a byte outside ASCII goes through
    /// ``split(_:_:path:line:)`` as text, exactly as every line once did; any other line — nearly
    /// all of real data — is cut into cells on bytes, which for such a line is the same thing,
    /// and its numbers are read by ``decimal(_:_:_:)`` when they are plain decimals.
    static func parse(utf8 u: UnsafeBufferPointer<UInt8>, path: String) throws -> CSVTable {
        // Lines end at \n. "\r\n" is one Character and text lines used to be split on Characters,
        // then lose one trailing \r: so a line ended by \n loses up to two \r, the last line one.
        var lineStart: [Int] = [], lineEnd: [Int] = []
        let n = u.count
        var s = 0
        while true {
            let next = s < n ? memchr(u.baseAddress! + s, 10, n - s).map { UnsafeRawPointer(u.baseAddress!).distance(to: $0) } : nil
            let i = next ?? n
            var e = i
            for _ in 0..<(next == nil ? 1 : 2) where e > s && u[e - 1] == 13 { e -= 1 }
            lineStart.append(s)
            lineEnd.append(e)
            guard next != nil else { break }
            s = i + 1
        }
        func blank(_ r: Int) -> Bool { (lineStart[r]..<lineEnd[r]).allSatisfy { u[$0] == 32 || u[$0] == 9 } }
        var lineCount = lineStart.count
        while lineCount > 0, blank(lineCount - 1) { lineCount -= 1 }
        guard lineCount > 0, lineEnd[0] > lineStart[0] else { throw CSVError(path: path, line: 1, message: "empty file: no header row") }
        func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: u[from..<to]), as: UTF8.self) }
        // A byte order mark: U+FEFF is a grapheme of its own, so this is the Character test it was.
        var h0 = lineStart[0]
        if lineEnd[0] - h0 >= 3 && u[h0] == 0xEF && u[h0 + 1] == 0xBB && u[h0 + 2] == 0xBF { h0 += 3 }
        let headerLine = Substring(text(h0, lineEnd[0]))
        let semicolons = headerLine.filter { $0 == ";" }.count, commas = headerLine.filter { $0 == "," }.count
        let sep: Character = semicolons > commas ? ";" : ","
        let sepByte: UInt8 = semicolons > commas ? 59 : 44
        let header = try split(headerLine, sep, path: path, line: 1).map { $0.trimmingCharacters(in: .whitespaces) }
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

        let bodyCount = lineCount - 1
        let H = header.count
        var values = [Float](), times = [Double](), timeText = [String](), anomaly = [Float](), change = [Float](), cycles = [String]()
        // Every value takes at least a byte of the text: a few bytes of header and many empty lines
        // must not reserve rows × sensors.
        let wanted = bodyCount.multipliedReportingOverflow(by: sensorIndices.count)
        values.reserveCapacity(min(wanted.overflow ? Int.max : wanted.partialValue, n))
        if timeIndex != nil { times.reserveCapacity(bodyCount); timeText.reserveCapacity(bodyCount) }
        if cycleIndex != nil { cycles.reserveCapacity(bodyCount) }
        // The current line's cells, trimmed, as byte ranges of `base`: the text itself, or
        // `scratch` for a line that went through `split`.
        var cellStart = [Int](repeating: 0, count: H + 1), cellEnd = [Int](repeating: 0, count: H)
        var scratch: [UInt8] = []
        var lastID = ""
        for r in 1..<max(1, lineCount) {
            let lineNo = r + 1
            let ls = lineStart[r], le = lineEnd[r]
            if ls == le { throw CSVError(path: path, line: lineNo, message: "empty line") }
            var simple = true
            for i in ls..<le where u[i] >= 0x80 || u[i] == 34 { simple = false; break }
            if simple {
                var cells = 1
                cellStart[0] = ls
                for i in ls..<le where u[i] == sepByte {
                    if cells < H { cellStart[cells] = i + 1 }
                    cells += 1
                }
                guard cells == H else { throw CSVError(path: path, line: lineNo, message: "\(cells) cells, the header has \(H)") }
                for k in 0..<H {
                    var a = cellStart[k], b = k + 1 < H ? cellStart[k + 1] - 1 : le
                    while a < b && (u[a] == 32 || u[a] == 9) { a += 1 }
                    while b > a && (u[b - 1] == 32 || u[b - 1] == 9) { b -= 1 }
                    cellStart[k] = a
                    cellEnd[k] = b
                }
            } else {
                let cells = try split(Substring(text(ls, le)), sep, path: path, line: lineNo)
                guard cells.count == H else { throw CSVError(path: path, line: lineNo, message: "\(cells.count) cells, the header has \(H)") }
                scratch.removeAll(keepingCapacity: true)
                for (k, cell) in cells.enumerated() {
                    cellStart[k] = scratch.count
                    scratch += cell.trimmingCharacters(in: .whitespaces).utf8
                    cellEnd[k] = scratch.count
                }
                if scratch.isEmpty { scratch.append(0) } // a base address for H empty cells
            }
            func row(_ base: UnsafePointer<UInt8>) throws {
                func fail(_ k: Int, _ message: String) -> CSVError {
                    CSVError(path: path, line: lineNo, column: k + 1, columnName: header[k], message: message)
                }
                func cell(_ k: Int) -> String {
                    String(decoding: UnsafeBufferPointer(start: base + cellStart[k], count: cellEnd[k] - cellStart[k]), as: UTF8.self)
                }
                func number(_ k: Int) -> Float? { decimal(base, cellStart[k], cellEnd[k]) ?? CSVTable.number(cell(k)) }
                for k in sensorIndices {
                    guard let v = number(k), v.isFinite else {
                        let c = cell(k)
                        throw fail(k, c.isEmpty ? "empty cell" : "\"\(c)\" is not a finite number")
                    }
                    values.append(v)
                }
                if let t = timeIndex {
                    let c = cell(t)
                    guard let seconds = Timestamp.parse(c) else { throw fail(t, "\"\(c)\" is not an ISO 8601 time or epoch seconds") }
                    times.append(seconds)
                    timeText.append(c)
                }
                for (index, into) in [(anomalyIndex, 0), (changeIndex, 1)] {
                    guard let k = index else { continue }
                    guard let v = number(k), v == 0 || v == 1 else { throw fail(k, "label \"\(cell(k))\" is not 0 or 1") }
                    if into == 0 { anomaly.append(v) } else { change.append(v) }
                }
                if let c = cycleIndex {
                    let bytes = UnsafeBufferPointer(start: base + cellStart[c], count: cellEnd[c] - cellStart[c])
                    guard !bytes.isEmpty else { throw fail(c, "empty cycle_id") }
                    // Rows of a cycle share one string.
                    if !lastID.utf8.elementsEqual(bytes) { lastID = String(decoding: bytes, as: UTF8.self) }
                    cycles.append(lastID)
                }
            }
            if simple { try row(u.baseAddress!) } else { try scratch.withUnsafeBufferPointer { try row($0.baseAddress!) } }
        }
        guard bodyCount > 0 else { throw CSVError(path: path, line: 2, message: "no data rows") }
        return CSVTable(path: path, separator: sep, sensors: sensorIndices.map { header[$0] }, values: values, rows: bodyCount,
                        times: timeIndex == nil ? nil : times, timeColumn: timeIndex.map { header[$0] },
                        timeText: timeIndex == nil ? nil : timeText, anomaly: anomalyIndex == nil ? nil : anomaly,
                        changepoint: changeIndex == nil ? nil : change, cycleIDs: cycleIndex == nil ? nil : cycles)
    }

    /// Powers of ten that a Float holds exactly.
    private static let exactPowers: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

    /// A plain decimal `-?digits(.digits)?` in bytes `from..<to` of `p`, when it is one whose
    /// digits (without the point) make an integer m ≤ 2²⁴ and whose fraction has at most 10 digits:
    /// then m and 10^k are exact Floats and m / 10^k is one correctly rounded division, the same
    /// Float that `Float(String)` reads. Anything else: nil, for ``number(_:)`` to decide.
    @inline(__always)
    static func decimal(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Float? {
        var i = from
        let negative = i < to && p[i] == 45
        if negative { i += 1 }
        var m: UInt64 = 0, digits = 0, fraction = 0
        let intStart = i
        while i < to, p[i] &- 48 < 10 { m = m &* 10 &+ UInt64(p[i] &- 48); i += 1; digits += 1 }
        guard i > intStart else { return nil }
        if i < to && p[i] == 46 {
            i += 1
            let fracStart = i
            while i < to, p[i] &- 48 < 10 { m = m &* 10 &+ UInt64(p[i] &- 48); i += 1; fraction += 1 }
            guard i > fracStart else { return nil }
        }
        guard i == to, digits + fraction <= 18, m <= 1 << 24, fraction <= 10 else { return nil }
        let v = Float(m) / exactPowers[fraction]
        return negative ? -v : v
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
