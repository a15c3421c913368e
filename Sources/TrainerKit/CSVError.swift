/// A problem in a CSV file, located as file:line:column.
public struct CSVError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public let path: String
    /// 1-based line number in the file (the header is line 1), or nil for the whole file.
    public let line: Int?
    /// 1-based column number and its header name, when the problem is in one cell.
    public let column: Int?
    public let columnName: String?
    public let message: String

    public init(path: String, line: Int? = nil, column: Int? = nil, columnName: String? = nil, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.columnName = columnName
        self.message = message
    }

    public var description: String {
        var location = path
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        let name = columnName.map { " (column \"\($0)\")" } ?? ""
        return "\(location)\(name): \(message)"
    }
}
