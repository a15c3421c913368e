/// A stored row the store cannot turn into a record: a missing column, an unexpected NULL, a
/// value that does not parse, or a state no enum case knows (a database written by a newer
/// server, or edited by hand). Thrown instead of crashing, with the table column and the value.
struct StoreError: Error, Equatable, CustomStringConvertible {
    private enum Kind: Equatable {
        case missingColumn
        case null
        case unparsable(value: String, type: String)
        case unknownValue(value: String, type: String)
    }

    private let kind: Kind
    /// The column the value came from.
    let column: String

    static func missingColumn(_ column: String) -> StoreError { StoreError(kind: .missingColumn, column: column) }
    static func null(_ column: String) -> StoreError { StoreError(kind: .null, column: column) }
    static func unparsable(_ column: String, _ value: String, as type: Any.Type) -> StoreError {
        StoreError(kind: .unparsable(value: value, type: "\(type)"), column: column)
    }
    static func unknownValue(_ column: String, _ value: String, as type: Any.Type) -> StoreError {
        StoreError(kind: .unknownValue(value: value, type: "\(type)"), column: column)
    }

    /// Whether the error is an unknown enum value (as opposed to a broken row).
    var isUnknownValue: Bool { if case .unknownValue = kind { true } else { false } }

    var description: String {
        switch kind {
        case .missingColumn: "stored row has no column \"\(column)\""
        case .null: "stored column \"\(column)\" is NULL where a value is required"
        case .unparsable(let value, let type): "stored column \"\(column)\" holds \"\(value)\", not a valid \(type)"
        case .unknownValue(let value, let type): "stored column \"\(column)\" holds \"\(value)\", which is no \(type) this server knows"
        }
    }
}

extension RawRepresentable where RawValue == String {
    /// The case stored as `raw` in `column`.
    ///
    /// - Throws: ``StoreError`` when no case has that raw value.
    static func stored(_ raw: String, column: String) throws -> Self {
        guard let value = Self(rawValue: raw) else { throw StoreError.unknownValue(column, raw, as: Self.self) }
        return value
    }
}
