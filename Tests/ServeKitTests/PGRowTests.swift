import Inference
import Testing
@testable import ServeKit

/// PostgreSQL rows in libpq's text format, decoded by column name without a server.
@Suite struct PGRowTests {
    static let index = ["id": 0, "t": 1, "vals": 2, "anomalous": 3, "state": 4, "ended_at": 5]

    @Test func typedGettersReadTheTextFormat() throws {
        let row = PGRow(index: Self.index, values: ["c1", "1.5", "{1.5,-2,NaN}", "t", "STOPPED", nil])
        #expect(try row.string("id") == "c1" && row.double("t") == 1.5 && row.bool("anomalous"))
        let vals = try row.floats("vals")
        #expect(vals.count == 3 && vals[0] == 1.5 && vals[1] == -2 && vals[2].isNaN)
        #expect(try row.value("state", as: CycleState.self) == .stopped)
        #expect(try row.optionalDouble("ended_at") == nil)
        #expect(try PGRow(index: Self.index, values: ["c", "Infinity", "{}", "f", "ACTIVE", "2"]).floats("vals").isEmpty)
    }

    @Test func badValuesAreThrownErrorsNamingTheColumn() throws {
        let row = PGRow(index: Self.index, values: [nil, "1.5x", "{1,two}", "yes", "LOST", "3"])
        #expect(throws: StoreError.null("id")) { try row.string("id") }
        #expect(throws: StoreError.unparsable("t", "1.5x", as: Double.self)) { try row.double("t") }
        #expect(throws: StoreError.unparsable("vals", "{1,two}", as: [Float].self)) { try row.floats("vals") }
        #expect(throws: StoreError.unparsable("anomalous", "yes", as: Bool.self)) { try row.bool("anomalous") }
        #expect(throws: StoreError.unknownValue("state", "LOST", as: CycleState.self)) { try row.value("state", as: CycleState.self) }
        #expect(throws: StoreError.missingColumn("label")) { try row.optionalString("label") }
        #expect(throws: StoreError.unparsable("vals", "1,2", as: [Float].self)) {
            try PGRow(index: Self.index, values: ["c", "1", "1,2", "t", "ACTIVE", nil]).floats("vals")
        }
    }
}
