import GRDB

extension SQLValue {
    /// The GRDB binding (a Bool binds as 1 or 0).
    var sqlite: (any DatabaseValueConvertible)? {
        switch self {
        case .text(let v): v
        case .double(let v): v
        case .int(let v): v
        case .bool(let v): v
        case .floats(let v): SQLiteStore.blob(v)
        }
    }
}

extension Database {
    func execute(_ s: SQLStatement) throws {
        try execute(sql: s.sql, arguments: StatementArguments(s.values.map(\.sqlite)))
    }
}
