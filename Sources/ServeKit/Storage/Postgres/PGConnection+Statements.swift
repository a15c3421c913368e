extension SQLValue {
    /// The libpq text parameter (nil is NULL).
    var text: String? {
        switch self {
        case .text(let v): v
        case .double(let v): v.map { "\($0)" }
        case .int(let v): v.map { "\($0)" }
        case .bool(let v): v.map { $0 ? "true" : "false" }
        case .floats(let v): PostgresStore.array(v)
        }
    }
}

extension PGConnection {
    @discardableResult
    func execute(_ s: SQLStatement) throws -> PGRows { try query(s.numbered, s.values.map(\.text)) }
}
