import CHDF5
import Foundation

/// Reading, for files from outside: sizes are reported first and read only within the caller's
/// bounds; links other than hard links, external storage and virtual datasets are refused, so
/// reading a model never opens another file. Callers hold ``hdf5Lock``.
extension HDF5File {
    /// What is at a path.
    enum Link: Equatable {
        case missing
        case hard
        /// A soft, external or user-defined link (its type number): never followed.
        case other(Int)
    }

    /// The link at `path`, each component checked in turn: the first that is missing or not a
    /// hard link decides.
    func link(_ path: String) -> Link {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            guard H5Lexists(id, prefix, vt_H5P_DEFAULT()) > 0 else { return .missing }
            var info = H5L_info_t()
            guard H5Lget_info(id, prefix, &info, vt_H5P_DEFAULT()) >= 0 else { return .missing }
            guard info.type == H5L_TYPE_HARD else { return .other(Int(info.type.rawValue)) }
        }
        return .hard
    }

    /// Whether a hard link exists at `path`.
    func exists(_ path: String) -> Bool { link(path) == .hard }

    /// Opens a dataset reached through hard links and stored in this file.
    func dataset(_ name: String) throws -> HDF5Dataset {
        switch link(name) {
        case .missing: throw HDF5Failure(operation: "find", object: name)
        case .other: throw HDF5Failure(operation: "follow a soft or external link to", object: name)
        case .hard: break
        }
        let ds = H5Dopen2(id, name, vt_H5P_DEFAULT())
        guard ds >= 0 else { throw HDF5Failure(operation: "open dataset", object: name) }
        return try HDF5Dataset(ds, name: name)
    }

    /// Reads a floating-point dataset as `Double` (fixtures keep float64 references).
    func readDoubles(_ name: String, maxValues: Int = ModelFileLimits.maxValues) throws -> (shape: [Int], values: [Double]) {
        let d = try dataset(name)
        guard let n = d.count, n <= maxValues else { throw HDF5Failure(operation: "read (too large)", object: name) }
        var values = [Double](repeating: 0, count: n)
        let status = values.withUnsafeMutableBufferPointer {
            H5Dread(d.id, vt_H5T_NATIVE_DOUBLE(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress)
        }
        guard status >= 0 else { throw HDF5Failure(operation: "read dataset", object: name) }
        return (d.shape, values)
    }

    enum Attribute: Equatable {
        case int(Int)
        case double(Double)
        case string(String)
        /// Present but not a scalar number or string; or a string longer than the bound.
        case other
    }

    /// Reads a scalar attribute of `object`, or `nil` when it (or `object`) does not exist.
    /// Strings longer than `maxBytes` are `.other`.
    func attribute(_ object: String, _ name: String, maxBytes: Int = ModelFileLimits.maxStringBytes) -> Attribute? {
        guard object == "/" || link(object) == .hard else { return nil }
        guard H5Aexists_by_name(id, object, name, vt_H5P_DEFAULT()) > 0 else { return nil }
        let attr = H5Aopen_by_name(id, object, name, vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        guard attr >= 0 else { return nil }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr)
        guard type >= 0 else { return .other }
        defer { H5Tclose(type) }
        let space = H5Aget_space(attr)
        guard space >= 0 else { return .other }
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
                defer { H5Dvlen_reclaim(mem, space, vt_H5P_DEFAULT(), &ptr) }
                let length = strnlen(p, maxBytes + 1)
                guard length <= maxBytes else { return .other }
                return .string(String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self))
            }
            let size = H5Tget_size(type)
            guard size > 0, size <= maxBytes else { return .other }
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attr, type, &bytes) >= 0 else { return .other }
            return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        default:
            return .other
        }
    }
}

/// An open dataset whose shape and element class are known before anything is read.
final class HDF5Dataset {
    let id: hid_t
    let name: String
    /// Dimensions (empty for a scalar).
    let shape: [Int]
    /// Number of elements, or `nil` when the product of ``shape`` overflows.
    let count: Int?
    let typeClass: H5T_class_t
    private let type: hid_t
    private let space: hid_t

    /// Takes ownership of `id` (closed on failure too).
    fileprivate init(_ id: hid_t, name: String) throws {
        self.id = id
        self.name = name
        var space: hid_t = -1, type: hid_t = -1
        func fail(_ what: String) -> HDF5Failure {
            if type >= 0 { H5Tclose(type) }
            if space >= 0 { H5Sclose(space) }
            H5Dclose(id)
            return HDF5Failure(operation: what, object: name)
        }
        // Data kept in other files (external storage, virtual datasets) is never read.
        let dcpl = H5Dget_create_plist(id)
        guard dcpl >= 0 else { throw fail("read the storage of") }
        let layout = H5Pget_layout(dcpl), external = H5Pget_external_count(dcpl)
        H5Pclose(dcpl)
        guard layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED || layout == H5D_COMPACT, external == 0 else {
            throw fail("read (stored outside the file) the dataset")
        }
        space = H5Dget_space(id)
        guard space >= 0 else { throw fail("read the shape of") }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard (0...32).contains(rank) else { throw fail("read the shape of") }
        var dims = [hsize_t](repeating: 0, count: rank)
        guard H5Sget_simple_extent_dims(space, &dims, nil) == rank else { throw fail("read the shape of") }
        // A dimension beyond Int's range is reported as -1: it fails every bound.
        let shape = dims.map { Int(exactly: $0) ?? -1 }
        let count = ModelFileLimits.count(shape)
        guard H5Sget_simple_extent_type(space) != H5S_NULL, count.map({ Int64($0) == H5Sget_simple_extent_npoints(space) }) ?? true else {
            throw fail("read the shape of")
        }
        type = H5Dget_type(id)
        guard type >= 0 else { throw fail("read the type of") }
        self.space = space
        self.type = type
        self.shape = shape
        self.count = count
        typeClass = H5Tget_class(type)
    }

    deinit {
        H5Tclose(type)
        H5Sclose(space)
        H5Dclose(id)
    }

    /// The values as float32; the caller has checked the class is float and ``count`` is bounded.
    func readFloats() throws -> [Float] {
        guard typeClass == H5T_FLOAT, let n = count else { throw HDF5Failure(operation: "read floats from", object: name) }
        var values = [Float](repeating: 0, count: n)
        let status = values.withUnsafeMutableBufferPointer {
            H5Dread(id, vt_H5T_NATIVE_FLOAT(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress)
        }
        guard status >= 0 else { throw HDF5Failure(operation: "read dataset", object: name) }
        return values
    }

    /// A one-dimensional string dataset, or `nil` when a string is longer than `maxBytes`; the
    /// caller has checked ``count``.
    func readStrings(maxBytes: Int) throws -> [String]? {
        guard typeClass == H5T_STRING, shape.count == 1, let n = count else { throw HDF5Failure(operation: "read strings from", object: name) }
        if H5Tis_variable_str(type) > 0 {
            let mem = HDF5File.utf8StringType()
            defer { H5Tclose(mem) }
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            guard H5Dread(id, mem, vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), &ptrs) >= 0 else {
                throw HDF5Failure(operation: "read dataset", object: name)
            }
            defer { H5Dvlen_reclaim(mem, space, vt_H5P_DEFAULT(), &ptrs) }
            var strings: [String] = []
            for p in ptrs {
                guard let p else { strings.append(""); continue }
                let length = strnlen(p, maxBytes + 1)
                guard length <= maxBytes else { return nil }
                strings.append(String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self))
            }
            return strings
        }
        let size = H5Tget_size(type)
        guard size > 0, size <= maxBytes, let total = ModelFileLimits.product(size, n) else { return nil }
        var bytes = [UInt8](repeating: 0, count: total)
        guard H5Dread(id, type, vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), &bytes) >= 0 else {
            throw HDF5Failure(operation: "read dataset", object: name)
        }
        return (0..<n).map { i in String(decoding: bytes[(i * size)..<((i + 1) * size)].prefix { $0 != 0 }, as: UTF8.self) }
    }
}
