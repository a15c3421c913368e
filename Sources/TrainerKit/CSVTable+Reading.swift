import Foundation

// Kept apart from CSVTable.swift, which the CSV fuzzer compiles on its own (scripts/fuzz.sh):
// reading files needs zlib, parsing does not.
extension CSVTable {
    /// The most bytes a gzip-compressed CSV file may decompress to: 2 GiB.
    public static let gzipLimit = 1 << 31

    /// Reads and parses a file, plain or gzip-compressed (`.csv.gz`).
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - gzipLimit: the most bytes a compressed file may decompress to.
    /// - Throws: ``CSVError`` as ``bytes(_:gzipLimit:)`` and ``parse(_:path:)-(Data,_)`` do.
    public static func read(_ path: String, gzipLimit: Int = gzipLimit) throws -> CSVTable {
        try parse(bytes(path, gzipLimit: gzipLimit), path: path)
    }

    /// The bytes of a CSV file, decompressed when it is gzip (recognised by its first two bytes,
    /// 1f 8b, whatever its name).
    ///
    /// - Throws: ``CSVError`` naming the file for an unreadable file, a truncated or corrupt gzip
    ///   stream, or one that decompresses to more than `gzipLimit` bytes.
    public static func bytes(_ path: String, gzipLimit: Int = gzipLimit) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CSVError(path: path, message: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        guard Gzip.isGzip(data) else { return data }
        do {
            return try Gzip.inflate(data, limit: gzipLimit)
        } catch let failure as Gzip.Failure {
            throw CSVError(path: path, message: failure.message)
        }
    }
}
