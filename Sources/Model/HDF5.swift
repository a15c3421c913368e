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
        // A file may name a filter that HDF5 would look for as a plugin (a shared library) in
        // HDF5_PLUGIN_PATH: model files never need one, so none is ever loaded.
        H5PLset_loading_state(0)
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
}
