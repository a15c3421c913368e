import Foundation
import Testing
@testable import Inference

/// `Timestamp.parse` and `Timestamp.format`; the regression cases are inputs the fuzzer found
/// (scripts/fuzz.sh, fuzz/timestamp/), each also in fuzz/corpus/timestamp/.
@Suite struct TimestampTests {
    @Test func dialectForms() {
        #expect(Timestamp.parse("2026-01-11T10:30:45Z") == 1_768_127_445)
        #expect(Timestamp.parse("2026-01-11 10:30:45") == 1_768_127_445)
        #expect(Timestamp.parse("2026-01-11T12:30:45+02:00") == 1_768_127_445)
        #expect(Timestamp.parse("2026-01-11T05:00:45-0530") == 1_768_127_445)
        #expect(Timestamp.parse("2026-01-11T10:30:45,5") == 1_768_127_445.5)
        #expect(Timestamp.parse("2026-01-11T10:30") == 1_768_127_400)
        #expect(Timestamp.parse("1768127445.5") == 1_768_127_445.5)
        #expect(Timestamp.parse("2000-02-29T00:00:00Z") == 951_782_400)
        #expect(Timestamp.parse("1900-01-01T00:00:00Z") == Timestamp.range.lowerBound)
        #expect(Timestamp.parse("2200-01-01T00:00:00Z") == nil)
        #expect(Timestamp.parse("1899-12-31T23:59:59Z") == nil)
    }

    /// `Double(String)` stops at a NUL and ignores what follows, so this was read as 158.
    @Test func textWithANulIsNoNumber() {
        #expect(Timestamp.parse("158\0\0\0\0\0\0\0\0\03748873.25") == nil)
        #expect(Timestamp.parse("5\0") == nil)
        #expect(Timestamp.parse("1583748873.25") == 1_583_748_873.25)
    }

    /// Zone offsets were taken with any two-digit minutes and hours: `-1060` was 11 hours.
    @Test func zoneOffsetsAreHoursAndMinutes() {
        #expect(Timestamp.parse("2026-01-11T12:30:45-1060") == nil)
        #expect(Timestamp.parse("2026-01-11T12:30:45+02:75") == nil)
        #expect(Timestamp.parse("2026-01-11T12:30:45+24") == nil)
        #expect(Timestamp.parse("2026-01-11T12:30:45-1059") == 1_768_174_185)
        #expect(Timestamp.parse("2026-01-11T12:30:45+23:59") == 1_768_048_305)
    }

    /// Days up to 31 in every month were taken: 2199-06-31 was 2199-07-01.
    @Test func datesAreCalendarDates() {
        #expect(Timestamp.parse("2199-06-31T23:59:59.999Z") == nil)
        #expect(Timestamp.parse("2021-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("1900-02-29T00:00:00Z") == nil) // 1900 is no leap year
        #expect(Timestamp.parse("2021-04-31 00:00") == nil)
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") == 1_709_164_800)
        #expect(Timestamp.parse("2199-06-30T23:59:59Z") == 7_242_220_799)
    }

    /// A fraction that rounds to 1000 ms lost its milliseconds, not its second: x.9996 was written
    /// as x.000, a second early (the fuzzer's input: these 8 bytes as a Double, -5.8e-9).
    @Test func formatNeverRoundsMillisecondsAway() throws {
        let tiny = Double(bitPattern: 0xbe38c43733383531)
        #expect(Timestamp.format(tiny) == "1969-12-31T23:59:59.999Z")
        let t = try #require(Timestamp.parse("2026-01-11T10:30:45.9996Z"))
        #expect(Timestamp.format(t) == "2026-01-11T10:30:45.999Z")
        for seconds in [tiny, t, 1_768_127_445.0004, 1_768_127_445.9994, 7_258_118_399.9999] {
            let back = try #require(Timestamp.parse(Timestamp.format(seconds)))
            #expect(abs(back - seconds) < 0.001, "\(seconds) → \(Timestamp.format(seconds))")
        }
        #expect(Timestamp.format(1_768_127_445.0004) == "2026-01-11T10:30:45Z")
        #expect(Timestamp.format(1_768_127_445.5) == "2026-01-11T10:30:45.500Z")
    }
}
