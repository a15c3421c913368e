import Foundation

/// Why a batch body is not a batch: malformed JSON, a missing field or a field of the wrong type.
/// The message names the field by its path (`rows[3].values[1]`) or the byte offset.
struct BatchDecodingError: Error, Equatable, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Reads `POST /api/live/batch` bodies (and the batches of a stream's socket) straight from the
/// request's bytes into a ``BatchRequest``: the same document `JSONDecoder` accepts, with the
/// same values, at a fraction of its cost (ingest spent more than a third of its time in it).
///
/// JSON as Foundation's `JSONDecoder` reads it — fuzz/batch checks that both accept the same
/// documents and read the same batch: one object (after an optional byte order mark); strings it
/// keeps (keys of the objects it reads, field values) of valid UTF-8 without raw control
/// characters or bad escapes; numbers in JSON's grammar that a Double holds (no overflow, no
/// underflow of a non-zero number to zero); a trailing comma before `}` or `]` is allowed;
/// a field given twice keeps its first value; unknown fields are only scanned (as there), nested
/// at most ``maxDepth`` levels with the document. Everything is checked as it
/// is read: no input makes it crash, loop or allocate more than a small multiple of its size.
struct BatchDecoder {
    /// Deepest nesting of objects and arrays, the document's own object included.
    static let maxDepth = 512

    /// - Parameters:
    ///   - defaultStream: the stream of a batch without `stream_id` (a stream's socket); nil: the
    ///     field is required.
    /// - Returns: the batch, and the top-level `type` field when it is a string (socket commands).
    static func decode(_ bytes: UnsafeRawBufferPointer, defaultStream: String? = nil) throws(BatchDecodingError)
        -> (batch: BatchRequest, type: String?)
    {
        var d = BatchDecoder(bytes: bytes)
        return try d.document(defaultStream: defaultStream)
    }

    static func decode(_ data: Data, defaultStream: String? = nil) throws(BatchDecodingError) -> (batch: BatchRequest, type: String?) {
        do {
            return try data.withUnsafeBytes { raw in try decode(raw, defaultStream: defaultStream) }
        } catch let e as BatchDecodingError {
            throw e
        } catch {
            throw BatchDecodingError(message: "\(error)")
        }
    }

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    /// Objects and arrays open around the current position.
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    // MARK: Document

    private mutating func document(defaultStream: String?) throws(BatchDecodingError) -> (batch: BatchRequest, type: String?) {
        var stream: String?, batchID: String??, samples: [BatchRequest.Sample]??, rows: [BatchRequest.Row]??, type: String?
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        var seen = Set<String>()
        try object { (d: inout BatchDecoder, key: String) throws(BatchDecodingError) in
            // A field given twice: the first counts, the others are only scanned.
            guard seen.insert(key).inserted else { return try d.skipValue() }
            switch key {
            case "stream_id": stream = try d.string(at: "stream_id")
            case "batch_id": batchID = .some(try d.optionalString(at: "batch_id"))
            case "rows": rows = .some(try d.optional(at: "rows") { (d: inout BatchDecoder) throws(BatchDecodingError) in try d.rows() })
            case "samples": samples = .some(try d.optional(at: "samples") { (d: inout BatchDecoder) throws(BatchDecodingError) in try d.samples() })
            case "type":
                // Socket commands; as a batch field it is unknown and only scanned.
                let start = d.i
                try d.skipValue()
                if d.bytes[start] == UInt8(ascii: "\""), d.i - start >= 2 {
                    let raw = UnsafeRawBufferPointer(rebasing: d.bytes[(start + 1)..<(d.i - 1)])
                    if !raw.contains(UInt8(ascii: "\\")) { type = String(decoding: raw, as: UTF8.self) }
                }
            default: try d.skipValue()
            }
        }
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the JSON object") }
        guard let id = stream ?? defaultStream else { throw BatchDecodingError(message: "missing field stream_id") }
        return (BatchRequest(stream_id: id, batch_id: batchID ?? nil, samples: samples ?? nil, rows: rows ?? nil), type)
    }

    private mutating func rows() throws(BatchDecodingError) -> [BatchRequest.Row] {
        var out: [BatchRequest.Row] = []
        try array(at: "rows") { (d: inout BatchDecoder, k: Int) throws(BatchDecodingError) in
            var time: WireTime?, values: [Double?]?
            func at() -> String { "rows[\(k)]" }  // only on an error: formatting it per row cost more than the row
            guard d.peek() == UInt8(ascii: "{") else { throw d.mismatch("\(at())", "an object") }
            try d.object { (d: inout BatchDecoder, key: String) throws(BatchDecodingError) in
                switch key {
                case "timestamp" where time == nil: time = try d.wireTime(at: "\(at()).timestamp")
                case "values" where values == nil: values = try d.values(at: "\(at()).values")
                default: try d.skipValue()
                }
            }
            guard let time else { throw BatchDecodingError(message: "missing field \(at()).timestamp") }
            guard let values else { throw BatchDecodingError(message: "missing field \(at()).values") }
            out.append(BatchRequest.Row(timestamp: time, values: values))
        }
        return out
    }

    private mutating func values(at path: @autoclosure () -> String) throws(BatchDecodingError) -> [Double?] {
        guard peek() == UInt8(ascii: "[") else { throw mismatch(path(), "an array") }
        var out: [Double?] = []
        out.reserveCapacity(16)
        try array(at: path()) { (d: inout BatchDecoder, _: Int) throws(BatchDecodingError) in
            if d.literal("null") { out.append(nil) } else { out.append(try d.number(at: "\(path())[\(out.count)]")) }
        }
        return out
    }

    private mutating func samples() throws(BatchDecodingError) -> [BatchRequest.Sample] {
        var out: [BatchRequest.Sample] = []
        try array(at: "samples") { (d: inout BatchDecoder, k: Int) throws(BatchDecodingError) in
            func at() -> String { "samples[\(k)]" }
            guard d.peek() == UInt8(ascii: "{") else { throw d.mismatch(at(), "an object") }
            var time: WireTime?, sensorID: String?, sensorName: String?, value: Double?, unit: String?, quality: Double?
            var seen: Set<String> = []
            try d.object { (d: inout BatchDecoder, key: String) throws(BatchDecodingError) in
                guard seen.insert(key).inserted else { return try d.skipValue() }
                switch key {
                case "timestamp": time = try d.wireTime(at: "\(at()).timestamp")
                case "sensor_id": sensorID = try d.optionalString(at: "\(at()).sensor_id")
                case "sensor_name": sensorName = try d.optionalString(at: "\(at()).sensor_name")
                case "value": value = try d.optionalNumber(at: "\(at()).value")
                case "unit": unit = try d.optionalString(at: "\(at()).unit")
                case "quality": quality = try d.optionalNumber(at: "\(at()).quality")
                default: try d.skipValue()
                }
            }
            guard let time else { throw BatchDecodingError(message: "missing field \(at()).timestamp") }
            out.append(BatchRequest.Sample(timestamp: time, sensor_id: sensorID, sensor_name: sensorName, value: value, unit: unit, quality: quality))
        }
        return out
    }

    // MARK: Values

    private mutating func wireTime(at path: @autoclosure () -> String) throws(BatchDecodingError) -> WireTime {
        skipSpace()
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): return .text(try string(at: path()))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .seconds(try number(at: path()))
        case UInt8(ascii: "n") where literal("null"): throw BatchDecodingError(message: "field \(path()) is null, expected a time")
        default: throw mismatch(path(), "a number or a string")
        }
    }

    private mutating func optionalString(at path: @autoclosure () -> String) throws(BatchDecodingError) -> String? {
        if literal("null") { return nil }
        return try string(at: path())
    }

    private mutating func optionalNumber(at path: @autoclosure () -> String) throws(BatchDecodingError) -> Double? {
        if literal("null") { return nil }
        return try number(at: path())
    }

    private mutating func optional<T>(at path: String, _ body: (inout BatchDecoder) throws(BatchDecodingError) -> T)
        throws(BatchDecodingError) -> T?
    {
        if literal("null") { return nil }
        guard peek() == UInt8(ascii: "[") else { throw mismatch(path, "an array") }
        return try body(&self)
    }

    /// A JSON number as a Double (correctly rounded, like `JSONDecoder`); a number too large for a
    /// Double is refused.
    private mutating func number(at path: @autoclosure () -> String) throws(BatchDecodingError) -> Double {
        skipSpace()
        let start = i
        guard let c = peek(), c == UInt8(ascii: "-") || isDigit(c) else { throw mismatch(path(), "a number") }
        if c == UInt8(ascii: "-") { i += 1 }
        // Integer part: 0, or a digit 1-9 and more digits.
        var mantissa: UInt64 = 0, digits = 0, exponent = 0
        guard let first = peek(), isDigit(first) else { throw fail("a number needs digits") }
        if first == UInt8(ascii: "0") {
            i += 1
            if let n = peek(), isDigit(n) { throw fail("a number must not start with 0") }
        } else {
            while let d = peek(), isDigit(d) {
                if digits < 19 { mantissa = mantissa * 10 + UInt64(d - 48); digits += 1 } else { exponent += 1 }
                i += 1
            }
        }
        if peek() == UInt8(ascii: ".") {
            i += 1
            guard let d = peek(), isDigit(d) else { throw fail("a number needs digits after its decimal point") }
            while let d = peek(), isDigit(d) {
                // Zeros before the first significant digit only move the decimal point.
                if mantissa == 0 && d == UInt8(ascii: "0") {
                    exponent -= 1
                } else if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(d - 48)
                    digits += 1
                    exponent -= 1
                }
                i += 1
            }
        }
        var exact = true
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            i += 1
            var negative = false
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { negative = s == UInt8(ascii: "-"); i += 1 }
            guard let d = peek(), isDigit(d) else { throw fail("a number needs digits in its exponent") }
            var value = 0
            while let d = peek(), isDigit(d) {
                if value < 100_000 { value = value * 10 + Int(d - 48) } else { exact = false }
                i += 1
            }
            exponent += negative ? -value : value
        }
        let negative = bytes[start] == UInt8(ascii: "-")
        // Fast path, exact: a mantissa below 2^53 times a power of ten that is itself exact.
        if exact, mantissa < (1 << 53), exponent >= -22, exponent <= 22 {
            let m = Double(mantissa)
            let v = exponent < 0 ? m / Self.powers[-exponent] : m * Self.powers[exponent]
            return negative ? -v : v
        }
        // Otherwise the C library reads the text (correctly rounded).
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        // Too large for a Double, or a non-zero number that would read as zero.
        guard let v = Double(text), v.isFinite, v != 0 || mantissa == 0 else {
            throw BatchDecodingError(message: "field \(path()): \(text) is not representable as a Double")
        }
        return v
    }

    private static let powers: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { r, _ in r * 10 } }

    /// A JSON string that is kept: escapes decoded; valid UTF-8 without raw control characters.
    private mutating func string(at path: @autoclosure () -> String) throws(BatchDecodingError) -> String {
        skipSpace()
        guard peek() == UInt8(ascii: "\"") else {
            if literal("null") { throw BatchDecodingError(message: "field \(path()) is null, expected a string") }
            throw mismatch(path(), "a string")
        }
        i += 1
        let start = i
        // Plain strings (no escape) are the rule: one pass, one copy.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
                i += 1
                guard let s = String(validating: raw, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("a string holds a control character") }
            i += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw fail("the text ends inside a string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard literal("\\u", skippingSpace: false) else { throw fail("a lone UTF-16 surrogate in a string") }
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("a lone UTF-16 surrogate in a string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("a lone UTF-16 surrogate in a string")
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw fail("an unknown escape in a string")
                }
            default:
                if c < 0x20 { throw fail("a string holds a control character") }
                out.append(c)
            }
        }
        throw fail("the text ends inside a string")
    }

    private mutating func hex4() throws(BatchDecodingError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("the text ends inside a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - 55)
            default: throw fail("a \\u escape needs four hex digits")
            }
            v = v * 16 + digit
            i += 1
        }
        return v
    }

    // MARK: Structure

    /// Reads an object, calling `field` with the decoder positioned at each value.
    /// - Parameter scanning: the object of an unknown field: its keys are only scanned (""), as
    ///   nobody reads them.
    private mutating func object(scanning: Bool = false, _ field: (inout BatchDecoder, String) throws(BatchDecodingError) -> Void)
        throws(BatchDecodingError)
    {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw fail("expected a JSON object") }
        try enter()
        defer { depth -= 1 }
        while true {
            skipSpace()
            // Empty, or a trailing comma.
            if peek() == UInt8(ascii: "}") { i += 1; return }
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = scanning ? try skipString() : try string(at: "a key")
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            i += 1
            skipSpace()
            try field(&self, key)
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"): i += 1; return
            default: throw fail("expected ',' or '}' in an object")
            }
        }
    }

    /// Reads an array, calling `element` with the decoder positioned at each element.
    private mutating func array(at path: @autoclosure () -> String, _ element: (inout BatchDecoder, Int) throws(BatchDecodingError) -> Void)
        throws(BatchDecodingError)
    {
        skipSpace()
        guard peek() == UInt8(ascii: "[") else { throw mismatch(path(), "an array") }
        try enter()
        defer { depth -= 1 }
        var k = 0
        while true {
            skipSpace()
            // Empty, or a trailing comma.
            if peek() == UInt8(ascii: "]") { i += 1; return }
            try element(&self, k)
            k += 1
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"): i += 1; return
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    /// Scans past a string to its closing quote; returns "".
    private mutating func skipString() throws(BatchDecodingError) -> String {
        i += 1
        while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
            guard bytes[i] == UInt8(ascii: "\\") else { i += 1; continue }
            i += 2
            // Escapes pass unchecked here; \u takes the four bytes after it, whatever they are
            // but a quote (as JSONDecoder's scan does).
            if i - 1 < bytes.count && bytes[i - 1] == UInt8(ascii: "u") {
                guard i + 4 <= bytes.count, !bytes[i..<(i + 4)].contains(UInt8(ascii: "\"")) else {
                    throw fail("a \\u escape needs four characters")
                }
                i += 4
            }
        }
        guard i < bytes.count else { throw fail("the text ends inside a string") }
        i += 1
        return ""
    }

    private mutating func enter() throws(BatchDecodingError) {
        guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
        depth += 1
        i += 1
    }

    /// Scans past a value nobody reads, as `JSONDecoder` does: its structure and literals are
    /// checked, its strings only for their end, its numbers only for their characters.
    private mutating func skipValue() throws(BatchDecodingError) {
        skipSpace()
        switch peek() ?? 0 {
        case UInt8(ascii: "{"):
            try object(scanning: true) { (d: inout BatchDecoder, _: String) throws(BatchDecodingError) in try d.skipValue() }
        case UInt8(ascii: "["):
            try array(at: "") { (d: inout BatchDecoder, _: Int) throws(BatchDecodingError) in try d.skipValue() }
        case UInt8(ascii: "\""):
            _ = try skipString()
        case UInt8(ascii: "t"): guard literal("true") else { throw fail("unexpected text") }
        case UInt8(ascii: "f"): guard literal("false") else { throw fail("unexpected text") }
        case UInt8(ascii: "n"): guard literal("null") else { throw fail("unexpected text") }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            while let c = peek(), isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { i += 1 }
        default: throw fail(i < bytes.count ? "unexpected text" : "the text ends early")
        }
    }

    private mutating func literal(_ word: StaticString, skippingSpace: Bool = true) -> Bool {
        if skippingSpace { skipSpace() }
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for k in 0..<n where bytes[i + k] != w[k] { return false }
        i += n
        return true
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    private func fail(_ what: String) -> BatchDecodingError {
        BatchDecodingError(message: "malformed JSON at byte \(i): " + (i >= bytes.count && !what.hasPrefix("the text ends") ? "the text ends early" : what))
    }

    private func mismatch(_ path: String, _ expected: String) -> BatchDecodingError {
        if i >= bytes.count { return fail("the text ends early") }
        return BatchDecodingError(message: "field \(path) is not \(expected)")
    }
}
