import Foundation
import Testing
@testable import TrainerKit

/// Inputs on which the CSV reader went wrong, found by fuzzing (scripts/fuzz.sh, fuzz/csv/);
/// each is also in fuzz/corpus/csv/.
@Suite struct CSVFuzzRegressionTests {
    func error(_ bytes: [UInt8]) -> CSVError? {
        do { _ = try CSVTable.parse(Data(bytes), path: "f.csv"); return nil } catch { return error as? CSVError }
    }

    /// `Float(String)` stops at a NUL and ignores what follows, so this cell was read as 10.
    @Test func cellWithANulIsNoNumber() throws {
        let e = try #require(error(Array("a\n10\0\0\0\0\0\0\0\n".utf8)))
        #expect(e.line == 2 && e.column == 1 && e.columnName == "a")
        #expect(e.message.hasSuffix("is not a finite number"))
        let label = try #require(error(Array("a,anomaly\n1,1\0junk\n".utf8)))
        #expect(label.line == 2 && label.column == 2)
        #expect(try CSVTable.parse(Data("a\n10\n".utf8), path: "f.csv").values == [10])
    }

    /// The reader reserved rows × sensors values before reading a row: 100,000 column names and a
    /// million newlines (1.6 MB) asked for 400 GB at once, and the process died instead of
    /// reporting the empty line.
    @Test func reservesNoMoreThanTheTextCanHold() throws {
        let header = (0..<100_000).map { "s\($0)" }.joined(separator: ",")
        let text = header + "\n" + String(repeating: "\n", count: 1_000_000) + "x\n"
        let e = try #require(error(Array(text.utf8)))
        #expect(e.line == 2 && e.message == "empty line")
    }

    /// `parse(Data)` is what `read` does after reading the file.
    @Test func bytesMustBeUTF8() throws {
        let e = try #require(error([0x61, 0x0A, 0xFF, 0x0A]))
        #expect(e.description == "f.csv: is not UTF-8 text")
    }
}
