import Foundation

/// A row read back from either database, by column name. Each store supplies the few primitive
/// getters (its own wire format); the typed getters, enum conversion and the record decoders
/// (`StoredRow+Records.swift`) are written once on top of them.
///
/// Every getter throws ``StoreError`` — a missing column, a NULL where a value is required, a
/// value that does not parse, a state no enum case knows — and never traps.
protocol StoredRow {
    /// The text in `column`, or nil for NULL.
    func optionalString(_ column: String) throws -> String?
    func optionalDouble(_ column: String) throws -> Double?
    func optionalInt(_ column: String) throws -> Int?
    func optionalBool(_ column: String) throws -> Bool?
    /// A vector of floats (SQLite: a blob of `Float`s; PostgreSQL: `REAL[]`).
    func floats(_ column: String) throws -> [Float]
    /// A vector of doubles (SQLite: a blob of `Double`s; PostgreSQL: `DOUBLE PRECISION[]`), or nil for NULL.
    func optionalDoubles(_ column: String) throws -> [Double]?
}

extension StoredRow {
    func string(_ column: String) throws -> String { try required(optionalString(column), column) }
    func double(_ column: String) throws -> Double { try required(optionalDouble(column), column) }
    func int(_ column: String) throws -> Int { try required(optionalInt(column), column) }
    func bool(_ column: String) throws -> Bool { try required(optionalBool(column), column) }

    /// The enum case stored as text in `column`.
    func value<E: RawRepresentable>(_ column: String, as _: E.Type = E.self) throws -> E where E.RawValue == String {
        try E.stored(try string(column), column: column)
    }

    /// The enum case stored as text in `column`, or nil for NULL.
    func optionalValue<E: RawRepresentable>(_ column: String, as _: E.Type = E.self) throws -> E? where E.RawValue == String {
        try optionalString(column).map { try E.stored($0, column: column) }
    }

    /// A JSON document stored as text in `column`.
    func json<T: Decodable>(_ column: String, as _: T.Type = T.self) throws -> T {
        let text = try string(column)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw StoreError.unparsable(column, String(text.prefix(80)), as: T.self)
        }
    }

    private func required<T>(_ value: T?, _ column: String) throws -> T {
        guard let value else { throw StoreError.null(column) }
        return value
    }
}
