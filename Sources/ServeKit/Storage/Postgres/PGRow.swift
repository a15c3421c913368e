/// One row of a query result in libpq's text format, read by column name.
struct PGRow: StoredRow {
    /// Column index by name, shared by the rows of one result.
    let index: [String: Int]
    let values: [String?]

    /// The text of `column`, or nil for NULL.
    ///
    /// - Throws: ``StoreError`` when the result has no such column.
    func column(_ name: String) throws -> String? {
        guard let k = index[name] else { throw StoreError.missingColumn(name) }
        return values[k]
    }

    func optionalString(_ column: String) throws -> String? { try self.column(column) }

    func optionalDouble(_ column: String) throws -> Double? { try parsed(column, Double.init) }

    func optionalInt(_ column: String) throws -> Int? { try parsed(column, Int.init) }

    func optionalBool(_ column: String) throws -> Bool? {
        try parsed(column) { $0 == "t" ? true : $0 == "f" ? false : nil }
    }

    /// A `REAL[]` in array text form, `{1.5,-2,NaN}`.
    func floats(_ column: String) throws -> [Float] { try array(column, text: try required(column)) }

    func optionalDoubles(_ column: String) throws -> [Double]? {
        guard let text = try self.column(column) else { return nil }
        return try array(column, text: text)
    }

    /// A one-dimensional array of numbers in PostgreSQL's text form, `{1,2.5}`.
    private func array<T: LosslessStringConvertible>(_ column: String, text: String) throws -> [T] {
        guard text.first == "{", text.last == "}" else { throw StoreError.unparsable(column, text, as: [T].self) }
        let body = text.dropFirst().dropLast()
        guard !body.isEmpty else { return [] }
        return try body.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let f = T(String($0)) else { throw StoreError.unparsable(column, text, as: [T].self) }
            return f
        }
    }

    private func required(_ column: String) throws -> String {
        guard let text = try self.column(column) else { throw StoreError.null(column) }
        return text
    }

    private func parsed<T>(_ column: String, _ parse: (String) -> T?) throws -> T? {
        guard let text = try self.column(column) else { return nil }
        guard let value = parse(text) else { throw StoreError.unparsable(column, text, as: T.self) }
        return value
    }
}
