import Foundation
import GRDB

/// A GRDB row read through ``StoredRow``: values are taken as `DatabaseValue`s and converted
/// here, because GRDB's typed subscripts trap on NULL or a mismatched type.
struct SQLiteRow: StoredRow {
    let row: Row

    private func stored(_ column: String) throws -> DatabaseValue {
        guard row.hasColumn(column) else { throw StoreError.missingColumn(column) }
        return row[column]
    }

    func optionalString(_ column: String) throws -> String? {
        switch try stored(column).storage {
        case .null: return nil
        case .string(let s): return s
        case .int64(let i): return String(i)
        case .double(let d): return String(d)
        case .blob(let b): throw StoreError.unparsable(column, "\(b.count) bytes", as: String.self)
        }
    }

    func optionalDouble(_ column: String) throws -> Double? {
        switch try stored(column).storage {
        case .null: return nil
        case .double(let d): return d
        case .int64(let i): return Double(i)
        case .string(let s): throw StoreError.unparsable(column, s, as: Double.self)
        case .blob(let b): throw StoreError.unparsable(column, "\(b.count) bytes", as: Double.self)
        }
    }

    func optionalInt(_ column: String) throws -> Int? {
        switch try stored(column).storage {
        case .null: return nil
        case .int64(let i): return Int(i)
        case .double(let d): throw StoreError.unparsable(column, String(d), as: Int.self)
        case .string(let s): throw StoreError.unparsable(column, s, as: Int.self)
        case .blob(let b): throw StoreError.unparsable(column, "\(b.count) bytes", as: Int.self)
        }
    }

    func optionalBool(_ column: String) throws -> Bool? {
        try optionalInt(column).map { $0 != 0 }
    }

    func floats(_ column: String) throws -> [Float] {
        guard case .blob(let data) = try stored(column).storage, data.count % MemoryLayout<Float>.size == 0 else {
            throw StoreError.unparsable(column, "\(try stored(column))", as: [Float].self)
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func optionalDoubles(_ column: String) throws -> [Double]? {
        switch try stored(column).storage {
        case .null: return nil
        case .blob(let data) where data.count % MemoryLayout<Double>.size == 0:
            return data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        default: throw StoreError.unparsable(column, "\(try stored(column))", as: [Double].self)
        }
    }
}
