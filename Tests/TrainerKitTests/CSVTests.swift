import Foundation
import Testing
@testable import TrainerKit
import Inference

@Suite struct CSVTests {
    @Test func semicolonDialectWithLabelsAndISOTimes() throws {
        let t = try CSVTable.parse("""
        datetime;Accelerometer1RMS;Pressure;anomaly;changepoint
        2020-03-09 10:14:33;0.0265;0.05;0.0;0.0
        2020-03-09 10:14:34;0.0261;0.38;1.0;1.0

        """, path: "skab.csv")
        #expect(t.separator == ";")
        #expect(t.sensors == ["Accelerometer1RMS", "Pressure"]) // labels and time are never sensors
        #expect(t.values == [0.0265, 0.05, 0.0261, 0.38])
        #expect(t.anomaly == [0, 1] && t.changepoint == [0, 1])
        #expect(t.times == [1_583_748_873, 1_583_748_874])
        #expect(t.timeText?[0] == "2020-03-09 10:14:33")
    }

    @Test func commaDialectTimeFormsAndCycles() throws {
        let t = try CSVTable.parse("""
        Timestamp,cycle_id,speed,"flow, l/s"
        2026-01-11T10:30:45.5Z,a,1,2
        2026-01-11T12:30:45+02:00,a,3,4
        1768127446,b,5,6
        """, path: "x.csv")
        #expect(t.sensors == ["speed", "flow, l/s"])
        #expect(t.times == [1_768_127_445.5, 1_768_127_445, 1_768_127_446])
        let cycles = try Dataset.split(t, sensors: ["flow, l/s", "speed"])
        #expect(cycles.count == 2)
        #expect(cycles[0].values == [2, 1, 4, 3] && cycles[1].values == [6, 5]) // reordered by name
        #expect(cycles[1].source == "x.csv#b")
    }

    @Test func noTimeColumnMeansEquallySpacedRows() throws {
        let t = try CSVTable.parse("a,b\n1,2\n3,4\n", path: "p.csv")
        #expect(t.times == nil && t.rows == 2 && t.values == [1, 2, 3, 4])
    }

    func error(_ text: String) -> String {
        do { _ = try CSVTable.parse(text, path: "f.csv"); return "no error" } catch { return "\(error)" }
    }

    @Test func badCellsNameFileLineAndColumn() {
        #expect(error("time,a,b\n0,1,2\n1,x,3\n") == "f.csv:3:2 (column \"a\"): \"x\" is not a finite number")
        #expect(error("time,a,b\n0,1,\n") == "f.csv:2:3 (column \"b\"): empty cell")
        #expect(error("time,a,b\n0,1,nan\n") == "f.csv:2:3 (column \"b\"): \"nan\" is not a finite number")
        #expect(error("time,a\nyesterday,1\n") == "f.csv:2:1 (column \"time\"): \"yesterday\" is not an ISO 8601 time or epoch seconds")
        #expect(error("time,a\n0,1,2\n") == "f.csv:2: 3 cells, the header has 2")
        #expect(error("a,anomaly\n1,2\n") == "f.csv:2:2 (column \"anomaly\"): label \"2\" is not 0 or 1")
        #expect(error("a,a\n1,2\n") == "f.csv:1:2 (column \"a\"): duplicate column name")
        #expect(error("time,anomaly\n0,1\n") == "f.csv:1: no sensor columns")
        #expect(error("a,b\n") == "f.csv:2: no data rows")
        #expect(error("") == "f.csv:1: empty file: no header row")
        #expect(error("a,b\n\"1,2\n") == "f.csv:2: unterminated quoted field")
    }

    @Test func cycleIDsMustBeContiguousAndSensorsPresent() throws {
        let t = try CSVTable.parse("cycle_id,a\nx,1\ny,2\nx,3\n", path: "c.csv")
        #expect(throws: CSVError.self) { try Dataset.split(t, sensors: ["a"]) }
        let u = try CSVTable.parse("a,b\n1,2\n", path: "u.csv")
        do {
            _ = try Dataset.split(u, sensors: ["a", "torque"])
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("missing sensor column \"torque\""))
        }
    }

    @Test func windowsNeverCrossCycles() {
        let cycles = [Cycle(source: "a", values: [Float](repeating: 0, count: 5), rows: 5),
                      Cycle(source: "b", values: [Float](repeating: 1, count: 2), rows: 2),
                      Cycle(source: "c", values: (0..<7).map(Float.init), rows: 7)]
        let starts = Windowing.starts(cycles, window: 3, stride: 2)
        #expect(starts.map { [$0.cycle, $0.row] } == [[0, 0], [0, 2], [2, 0], [2, 2], [2, 4]])
        let w = Windowing.gather(cycles.map(\.values), starts, window: 3, sensors: 1)
        #expect(Array(w[6..<9]) == [0, 1, 2] && Array(w[12..<15]) == [4, 5, 6])
    }

    @Test func timestampFormatRoundTrips() {
        #expect(Timestamp.format(1_583_748_873) == "2020-03-09T10:14:33Z")
        #expect(Timestamp.format(1_768_127_445.5) == "2026-01-11T10:30:45.500Z")
        #expect(Timestamp.parse(Timestamp.format(951_782_400)) == 951_782_400) // 2000-02-29
    }
}
