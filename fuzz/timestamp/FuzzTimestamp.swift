// libFuzzer harness for `Timestamp.parse` and `Timestamp.format` (Sources/Inference/Timestamp.swift).
//
// Built by scripts/fuzz.sh into one module with Timestamp.swift (so internal API is visible) and
// linked with `-sanitize=fuzzer,address`. Beyond "no crash" it asserts, for every input:
//
// 1. `parse` agrees with an independent reference reading of the dialect below (accepts the same
//    texts, to within a microsecond the same value), and every time it answers is within
//    `Timestamp.range`;
// 2. `format` of a parsed time is ISO 8601 UTC text of the dialect that parses back to the same
//    time within 1 ms;
// 3. `format` is total on any Double (the first 8 input bytes as a bit pattern), and round-trips
//    within 1 ms when the Double is a valid time.
//
// The dialect (DESIGN.md "Data: CSV"): `YYYY-MM-DD`, `T` or a space, `hh:mm[:ss[(.|,)f+]]`, then
// nothing (UTC), `Z` or `±hh[[:]mm]`; or epoch seconds as a number (Swift's floating-point
// syntax, the whole text). Real calendar dates only; seconds up to 60 (a leap second); zone
// offsets below 24 hours.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTimestamp(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)

    let parsed = Timestamp.parse(text)
    let expected = Reference.parse(text)
    switch (parsed, expected) {
    case (nil, nil):
        break
    case let (p?, nil):
        violated("parse accepted \(quoted(text)) as \(p), which is no time of the dialect")
    case let (nil, e?):
        violated("parse rejected \(quoted(text)), a time of the dialect (\(e))")
    case let (p?, e?):
        check(abs(p - e) <= 1e-6, "parse(\(quoted(text))) = \(p), the reference reads \(e)")
    }
    if let t = parsed {
        check(Timestamp.isValid(t), "parse(\(quoted(text))) = \(t) is outside Timestamp.range")
        roundTrip(t, from: "parse(\(quoted(text)))")
    }

    // format is total: any Double, including NaN, infinities and times far outside the range.
    if size >= 8 {
        var bits: UInt64 = 0
        for k in 0..<8 { bits |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        let d = Double(bitPattern: bits)
        let s = Timestamp.format(d)
        check(!s.isEmpty, "format(\(d)) is empty")
        if Timestamp.isValid(d) { roundTrip(d, from: "Double(bitPattern: 0x\(String(bits, radix: 16)))") }
    }
    return 0
}

/// `format(t)` is ISO 8601 UTC text of the dialect that parses back to `t` within 1 ms.
func roundTrip(_ t: Double, from origin: String) {
    let s = Timestamp.format(t)
    check(Reference.isCanonicalUTC(s), "format(\(t)) = \(quoted(s)) (from \(origin)) is not YYYY-MM-DDThh:mm:ss[.fff]Z")
    guard let back = Timestamp.parse(s) else { violated("format(\(t)) = \(quoted(s)) (from \(origin)) does not parse") }
    // Within 1 ms, give or take the rounding of a Double near t (its ulp is about 1e-6 s in 2199).
    check(abs(back - t) <= 0.001 + 4 * t.ulp, "format(\(t)) = \(quoted(s)) (from \(origin)) parses to \(back), \(abs(back - t)) s away")
}

/// An independent reading of the dialect: a grammar walk plus Foundation's Gregorian calendar
/// for the dates (no shared arithmetic with `Timestamp`).
enum Reference {
    static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    static func parse(_ s: String) -> Double? {
        guard s.utf8.count <= 64 else { return nil } // the parser's bound on a time's text
        let v: Double?
        if let iso = iso(Array(s.utf8)) { v = iso } else { v = number(s) }
        guard let v, v.isFinite, v >= -2_208_988_800, v < 7_258_118_400 else { return nil }
        return v
    }

    /// Swift's floating-point literal syntax over the whole text: `[+-]` then decimal digits with
    /// an optional `.` fraction and `e` exponent, or `0x` hex digits with an optional fraction and
    /// `p` exponent (infinities and NaN are out of range anyway).
    static func number(_ s: String) -> Double? {
        var u = Array(s.utf8)[...]
        guard !u.isEmpty else { return nil }
        if u.first == UInt8(ascii: "+") || u.first == UInt8(ascii: "-") { u = u.dropFirst() }
        let hex = u.count >= 2 && u[u.startIndex] == UInt8(ascii: "0") && (u[u.startIndex + 1] | 0x20) == UInt8(ascii: "x")
        if hex { u = u.dropFirst(2) }
        func isDigit(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (hex && ((c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "f")))
        }
        var mantissa = 0
        while let c = u.first, isDigit(c) { u = u.dropFirst(); mantissa += 1 }
        if u.first == UInt8(ascii: ".") {
            u = u.dropFirst()
            while let c = u.first, isDigit(c) { u = u.dropFirst(); mantissa += 1 }
        }
        guard mantissa > 0 else { return nil }
        if let c = u.first, (c | 0x20) == (hex ? UInt8(ascii: "p") : UInt8(ascii: "e")) {
            u = u.dropFirst()
            if u.first == UInt8(ascii: "+") || u.first == UInt8(ascii: "-") { u = u.dropFirst() }
            var exponent = 0
            while let c = u.first, c >= 48 && c <= 57 { u = u.dropFirst(); exponent += 1 }
            guard exponent > 0 else { return nil }
        }
        guard u.isEmpty else { return nil }
        return Double(s)
    }

    /// The ISO form, or nil when the text is not one.
    static func iso(_ u: [UInt8]) -> Double? {
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= u.count else { return nil }
            var v = 0
            for c in u[i..<(i + n)] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c) - 48
            }
            i += n
            return v
        }
        func literal(_ c: Character) -> Bool {
            guard i < u.count, u[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), literal("-"), let month = digits(2), literal("-"), let day = digits(2),
              literal("T") || literal(" "), let hour = digits(2), literal(":"), let minute = digits(2) else { return nil }
        var second = 0.0
        if literal(":") {
            guard let s = digits(2) else { return nil }
            second = Double(s)
            if literal(".") || literal(",") {
                let start = i
                while i < u.count, u[i] >= 48 && u[i] <= 57 { i += 1 }
                guard i > start else { return nil }
                second += Double("0." + String(decoding: u[start..<i], as: UTF8.self))!
            }
        }
        var offset = 0
        if literal("Z") {
        } else if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            let sign = u[i] == UInt8(ascii: "+") ? 1 : -1
            i += 1
            guard let oh = digits(2), oh < 24 else { return nil }
            var om = 0
            if i < u.count {
                _ = literal(":")
                guard let m = digits(2), m < 60 else { return nil }
                om = m
            }
            offset = sign * (oh * 3600 + om * 60)
        }
        guard i == u.count, hour < 24, minute < 60, second < 61 else { return nil }
        let components = DateComponents(calendar: calendar, timeZone: calendar.timeZone, year: year, month: month, day: day)
        guard components.isValidDate, let midnight = components.date else { return nil }
        return midnight.timeIntervalSince1970 + Double(hour * 3600 + minute * 60 - offset) + second
    }

    /// What `format` writes for a valid time: `YYYY-MM-DDThh:mm:ss[.fff]Z`.
    static func isCanonicalUTC(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 20 || u.count == 24, u.last == UInt8(ascii: "Z") else { return false }
        let pattern = Array((u.count == 20 ? "dddd-dd-ddTdd:dd:ddZ" : "dddd-dd-ddTdd:dd:dd.dddZ").utf8)
        return zip(u, pattern).allSatisfy { c, p in p == UInt8(ascii: "d") ? (c >= 48 && c <= 57) : c == p }
    }
}

func quoted(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\"" }

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { violated(message()) }
}

func violated(_ message: String) -> Never {
    fatalError("PROPERTY VIOLATED: " + message)
}
