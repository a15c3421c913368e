import CHDF5
import Foundation

/// The serial HDF5 library is not thread-safe: every call into it holds this lock.
let hdf5Lock = NSLock()

/// A failed HDF5 operation, with the object it concerned.
struct HDF5Failure: Error, CustomStringConvertible {
    let operation: String
    let object: String
    var description: String { "HDF5 could not \(operation) '\(object)'" }
}

/// A thin, typed face over an open HDF5 file. Callers hold ``hdf5Lock``.
final class HDF5File {
    let id: hid_t
    let path: String

    private init(id: hid_t, path: String) {
        self.id = id
        self.path = path
    }

    deinit { H5Fclose(id) }

    static func create(_ path: String) throws -> HDF5File {
        vt_H5_silence_errors()
        let id = H5Fcreate(path, vt_H5F_ACC_TRUNC(), vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard id >= 0 else { throw HDF5Failure(operation: "create file", object: path) }
        return HDF5File(id: id, path: path)
    }

    /// Opens a file read-only, or returns `nil` when it is not an HDF5 file.
    static func open(_ path: String) -> HDF5File? {
        vt_H5_silence_errors()
        guard H5Fis_hdf5(path) > 0 else { return nil }
        let id = H5Fopen(path, vt_H5F_ACC_RDONLY(), vt_H5P_DEFAULT())
        return id >= 0 ? HDF5File(id: id, path: path) : nil
    }

    // MARK: Writing

    func createGroup(_ name: String) throws {
        let g = H5Gcreate2(id, name, vt_H5P_DEFAULT(), vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard g >= 0 else { throw HDF5Failure(operation: "create group", object: name) }
        H5Gclose(g)
    }

    /// Writes a float32 little-endian dataset; returns its id for attributes (caller closes).
    @discardableResult
    func writeFloats(_ name: String, shape: [Int], _ values: [Float], keepOpen: Bool = false) throws -> hid_t {
        precondition(shape.reduce(1, *) == values.count, "dataset \(name): shape \(shape) vs \(values.count) values")
        let dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, nil)
        defer { H5Sclose(space) }
        let ds = H5Dcreate2(id, name, vt_H5T_IEEE_F32LE(), space, vt_H5P_DEFAULT(), vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard ds >= 0 else { throw HDF5Failure(operation: "create dataset", object: name) }
        let status = values.withUnsafeBufferPointer {
            H5Dwrite(ds, vt_H5T_NATIVE_FLOAT(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress)
        }
        guard status >= 0 else { H5Dclose(ds); throw HDF5Failure(operation: "write dataset", object: name) }
        if keepOpen { return ds }
        H5Dclose(ds)
        return -1
    }

    /// Writes a one-dimensional dataset of variable-length UTF-8 strings.
    func writeStrings(_ name: String, _ strings: [String]) throws {
        let type = Self.utf8StringType()
        defer { H5Tclose(type) }
        var dims = [hsize_t(strings.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let ds = H5Dcreate2(id, name, type, space, vt_H5P_DEFAULT(), vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard ds >= 0 else { throw HDF5Failure(operation: "create dataset", object: name) }
        defer { H5Dclose(ds) }
        let cStrings = strings.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let status = cStrings.withUnsafeBufferPointer {
            H5Dwrite(ds, type, vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress)
        }
        guard status >= 0 else { throw HDF5Failure(operation: "write dataset", object: name) }
    }

    func setAttribute(_ object: String, _ name: String, string value: String) throws {
        let type = Self.utf8StringType()
        defer { H5Tclose(type) }
        let c = strdup(value)
        defer { free(c) }
        var ptr: UnsafeMutablePointer<CChar>? = c
        try writeAttribute(object, name, fileType: type, memType: type, &ptr)
    }

    func setAttribute(_ object: String, _ name: String, int value: Int) throws {
        var v = Int64(value)
        try writeAttribute(object, name, fileType: vt_H5T_STD_I64LE(), memType: vt_H5T_NATIVE_INT64(), &v)
    }

    func setAttribute(_ object: String, _ name: String, double value: Double) throws {
        var v = value
        try writeAttribute(object, name, fileType: vt_H5T_IEEE_F64LE(), memType: vt_H5T_NATIVE_DOUBLE(), &v)
    }

    private func writeAttribute<T: BitwiseCopyable>(_ object: String, _ name: String, fileType: hid_t, memType: hid_t, _ value: inout T) throws {
        let obj = H5Oopen(id, object, vt_H5P_DEFAULT())
        guard obj >= 0 else { throw HDF5Failure(operation: "open object", object: object) }
        defer { H5Oclose(obj) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attr = H5Acreate2(obj, name, fileType, space, vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard attr >= 0 else { throw HDF5Failure(operation: "create attribute", object: "\(object)@\(name)") }
        defer { H5Aclose(attr) }
        guard H5Awrite(attr, memType, &value) >= 0 else {
            throw HDF5Failure(operation: "write attribute", object: "\(object)@\(name)")
        }
    }

    static func utf8StringType() -> hid_t {
        let t = H5Tcopy(vt_H5T_C_S1())
        H5Tset_size(t, vt_H5T_VARIABLE())
        H5Tset_cset(t, H5T_CSET_UTF8)
        return t
    }

    // MARK: Reading

    /// Whether a link exists at `path` (each component checked in turn).
    func exists(_ path: String) -> Bool {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if H5Lexists(id, prefix, vt_H5P_DEFAULT()) <= 0 { return false }
        }
        return true
    }

    enum Value: Equatable {
        case floats(shape: [Int], values: [Float])
        case strings([String])
        case other(String)
    }

    /// Reads a dataset: floating-point data as float32, strings as Swift strings.
    func read(_ name: String) throws -> Value {
        let ds = H5Dopen2(id, name, vt_H5P_DEFAULT())
        guard ds >= 0 else { throw HDF5Failure(operation: "open dataset", object: name) }
        defer { H5Dclose(ds) }
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw HDF5Failure(operation: "read the shape of", object: name) }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = dims.map { Int($0) }
        let type = H5Dget_type(ds)
        defer { H5Tclose(type) }
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            let status = values.withUnsafeMutableBufferPointer {
                H5Dread(ds, vt_H5T_NATIVE_FLOAT(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress)
            }
            guard status >= 0 else { throw HDF5Failure(operation: "read dataset", object: name) }
            return .floats(shape: shape, values: values)
        case H5T_STRING:
            guard rank == 1 else { return .other("string array of rank \(rank)") }
            return .strings(try readStrings(ds, type: type, space: space, count: shape[0], name: name))
        case H5T_INTEGER: return .other("integer")
        default: return .other("non-numeric")
        }
    }

    /// Reads a floating-point dataset as `Double` (fixtures keep float64 references).
    func readDoubles(_ name: String) throws -> (shape: [Int], values: [Double]) {
        let ds = H5Dopen2(id, name, vt_H5P_DEFAULT())
        guard ds >= 0 else { throw HDF5Failure(operation: "open dataset", object: name) }
        defer { H5Dclose(ds) }
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        var dims = [hsize_t](repeating: 0, count: Int(max(0, H5Sget_simple_extent_ndims(space))))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = dims.map { Int($0) }
        var values = [Double](repeating: 0, count: shape.reduce(1, *))
        let status = values.withUnsafeMutableBufferPointer {
            H5Dread(ds, vt_H5T_NATIVE_DOUBLE(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress)
        }
        guard status >= 0 else { throw HDF5Failure(operation: "read dataset", object: name) }
        return (shape, values)
    }

    private func readStrings(_ ds: hid_t, type: hid_t, space: hid_t, count: Int, name: String) throws -> [String] {
        if H5Tis_variable_str(type) > 0 {
            let mem = Self.utf8StringType()
            defer { H5Tclose(mem) }
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Dread(ds, mem, vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), &ptrs) >= 0 else {
                throw HDF5Failure(operation: "read dataset", object: name)
            }
            let strings = ptrs.map { $0.map { String(cString: $0) } ?? "" }
            H5Dvlen_reclaim(mem, space, vt_H5P_DEFAULT(), &ptrs)
            return strings
        }
        let size = H5Tget_size(type)
        var bytes = [CChar](repeating: 0, count: size * count)
        guard H5Dread(ds, type, vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), &bytes) >= 0 else {
            throw HDF5Failure(operation: "read dataset", object: name)
        }
        return (0..<count).map { i in
            let slice = bytes[(i * size)..<((i + 1) * size)].map { UInt8(bitPattern: $0) }
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    enum Attribute: Equatable {
        case int(Int)
        case double(Double)
        case string(String)
        case other
    }

    /// Reads a scalar attribute of `object`, or `nil` when it does not exist.
    func attribute(_ object: String, _ name: String) -> Attribute? {
        guard H5Aexists_by_name(id, object, name, vt_H5P_DEFAULT()) > 0 else { return nil }
        let attr = H5Aopen_by_name(id, object, name, vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard attr >= 0 else { return nil }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attr)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_npoints(space) == 1 else { return .other }
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            var v: Int64 = 0
            return H5Aread(attr, vt_H5T_NATIVE_INT64(), &v) >= 0 ? .int(Int(v)) : .other
        case H5T_FLOAT:
            var v: Double = 0
            return H5Aread(attr, vt_H5T_NATIVE_DOUBLE(), &v) >= 0 ? .double(v) : .other
        case H5T_STRING:
            if H5Tis_variable_str(type) > 0 {
                let mem = Self.utf8StringType()
                defer { H5Tclose(mem) }
                var ptr: UnsafeMutablePointer<CChar>? = nil
                guard H5Aread(attr, mem, &ptr) >= 0, let p = ptr else { return .other }
                let s = String(cString: p)
                H5Dvlen_reclaim(mem, space, vt_H5P_DEFAULT(), &ptr)
                return .string(s)
            }
            let size = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attr, type, &bytes) >= 0 else { return .other }
            return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        default:
            return .other
        }
    }
}
