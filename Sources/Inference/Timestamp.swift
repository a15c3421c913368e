import Foundation

/// Parses the time forms of the CSV dialect into seconds since 1970-01-01T00:00:00Z.
///
/// ISO 8601 `YYYY-MM-DD` + `T` or space + `hh:mm[:ss[.fff]]`, optionally followed by `Z` or
/// `±hh[:mm]` (no zone: UTC), or epoch seconds as a plain number.
///
/// Every time is within ``range`` (years 1900 to 2199): outside it, `parse` answers nil and
/// ``isValid(_:)`` false, so that no later arithmetic on a time can overflow.
public enum Timestamp {
    /// The times VerTac accepts: 1900-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z,
    /// in seconds since 1970. Small numbers (seconds since a cycle's start) are in range too.
    public static let range: Range<Double> = -2_208_988_800 ..< 7_258_118_400

    /// Whether `seconds` is a finite time within ``range``.
    public static func isValid(_ seconds: Double) -> Bool { seconds.isFinite && range.contains(seconds) }

    /// Seconds since 1970 for the text, or nil when it is no time of the dialect or out of ``range``.
    public static func parse(_ s: String) -> Double? {
        guard let t = parseUnbounded(s), isValid(t) else { return nil }
        return t
    }

    private static func parseUnbounded(_ s: String) -> Double? {
        guard s.utf8.count <= 64 else { return nil }
        // Not `Double(s)` alone: it stops at a NUL and ignores the rest ("5\0abc" would be 5).
        if !s.utf8.contains(0), let v = Double(s), v.isFinite { return v }
        let u = Array(s.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= u.count else { return nil }
            var v = 0
            for k in at..<(at + n) {
                let c = u[k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard u.count >= 16, let year = digits(0, 4), u[4] == 45, let month = digits(5, 2), u[7] == 45,
              let day = digits(8, 2), u[10] == 84 || u[10] == 32, let hour = digits(11, 2), u[13] == 58,
              let minute = digits(14, 2) else { return nil }
        var pos = 16
        var second = 0.0
        if pos < u.count && u[pos] == 58 {
            guard let sec = digits(pos + 1, 2) else { return nil }
            second = Double(sec)
            pos += 3
            if pos < u.count && (u[pos] == 46 || u[pos] == 44) {
                var frac = 0.0, scale = 0.1
                pos += 1
                let start = pos
                while pos < u.count, u[pos] >= 48 && u[pos] <= 57 { frac += Double(u[pos] - 48) * scale; scale /= 10; pos += 1 }
                guard pos > start else { return nil }
                second += frac
            }
        }
        var offset = 0.0
        if pos < u.count {
            if u[pos] == 90 && pos == u.count - 1 {
                pos += 1
            } else if u[pos] == 43 || u[pos] == 45 {
                let sign: Double = u[pos] == 43 ? 1 : -1
                guard let oh = digits(pos + 1, 2) else { return nil }
                var om = 0
                var end = pos + 3
                if end < u.count {
                    let colon = u[end] == 58 ? 1 : 0
                    guard let m = digits(end + colon, 2) else { return nil }
                    om = m
                    end += colon + 2
                }
                guard end == u.count, oh < 24, om < 60 else { return nil }
                offset = sign * Double(oh * 3600 + om * 60)
                pos = end
            } else { return nil }
        }
        guard pos == u.count, (1...12).contains(month), (1...daysInMonth(year, month)).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        return Double(daysFromCivil(year, month, day)) * 86_400 + Double(hour * 3600 + minute * 60) + second - offset
    }

    /// Days in a month of the proleptic Gregorian calendar (so 2021-02-29 and 06-31 are no dates).
    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// ISO 8601 UTC text for seconds since 1970 (millisecond precision when fractional).
    ///
    /// Total: a time outside ``range`` (which no input path lets in) is written as the number it
    /// is rather than trapping on the conversion to whole seconds.
    public static func format(_ seconds: Double) -> String {
        guard isValid(seconds) else { return "\(seconds)" }
        let whole = Int((seconds).rounded(.down))
        // Rounded to the millisecond, but never up into the next second: x.9996 is x.999, not x.000.
        let ms = min(Int(((seconds - Double(whole)) * 1000).rounded()), 999)
        var days = whole / 86_400, rem = whole % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        // civil from days (Hinnant)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var s = "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))"
        if ms > 0 && ms < 1000 { s += "." + String(format: "%03d", ms) }
        return s + "Z"
    }
}
