import CZlib
import Foundation

/// gzip (RFC 1952) decompression of a whole file held in memory, bounded in output.
enum Gzip {
    /// Whether `data` starts with the gzip magic bytes 1f 8b.
    static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// What is wrong with a gzip file, in words (the caller names the file).
    struct Failure: Error, Equatable {
        let message: String
    }

    /// Inflates every member of a gzip file (concatenated members, as `cat a.gz b.gz` makes, read
    /// as one stream, like `gzip -d`); zero bytes after the last member are ignored.
    ///
    /// - Parameter limit: the most bytes the output may hold.
    /// - Returns: the decompressed bytes.
    /// - Throws: ``Failure`` for a truncated or corrupt stream, data after the last member that is
    ///   neither zero padding nor another member, or output over `limit` — found before more than
    ///   `limit` plus one chunk has been inflated.
    static func inflate(_ data: Data, limit: Int) throws -> Data {
        precondition(limit >= 0, "negative limit")
        var out = Data()
        // ISIZE, the last member's size mod 2^32, is a hint, never trusted: deflate expands at most
        // ~1032:1, and the limit caps it either way.
        if data.count >= 18 {
            let isize = data.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
            out.reserveCapacity(min(isize, limit, data.count.multipliedReportingOverflow(by: 1032).partialValue))
        }
        var stream = z_stream()
        guard vertac_inflate_init_gzip(&stream) == Z_OK else { throw Failure(message: "cannot start zlib (out of memory)") }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.bindMemory(to: UInt8.self).baseAddress else { throw Failure(message: "empty gzip file") }
            stream.next_in = UnsafeMutablePointer(mutating: base)
            // avail_in is 32-bit: feed a file over 4 GiB in slices.
            var fed = 0
            func feed() {
                let n = min(input.count - fed, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: base + fed)
                stream.avail_in = UInt32(n)
                fed += n
            }
            feed()
            while true {
                let (status, produced) = buffer.withUnsafeMutableBufferPointer { b -> (Int32, Int) in
                    stream.next_out = b.baseAddress
                    stream.avail_out = UInt32(chunk)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, chunk - Int(stream.avail_out))
                }
                if produced > 0 {
                    guard out.count + produced <= limit else {
                        throw Failure(message: "decompresses to more than \(byteCount(limit)), the limit for a compressed CSV file")
                    }
                    buffer.withUnsafeBufferPointer { out.append($0.baseAddress!, count: produced) }
                }
                switch status {
                case Z_OK:
                    if stream.avail_in == 0 && fed < input.count { feed() }
                case Z_BUF_ERROR:
                    // No progress possible: more input is needed, and the file has none left.
                    if stream.avail_in == 0 && fed < input.count { feed(); continue }
                    throw Failure(message: "truncated gzip data (the file ends inside the compressed stream)")
                case Z_STREAM_END:
                    // Another member, padding, or something else after this member.
                    let consumed = fed - Int(stream.avail_in)
                    let rest = input[consumed...]
                    if rest.isEmpty { return }
                    if rest.count >= 2 && rest[rest.startIndex] == 0x1f && rest[rest.startIndex + 1] == 0x8b {
                        guard inflateReset(&stream) == Z_OK else { throw Failure(message: "cannot restart zlib for the next gzip member") }
                        continue
                    }
                    if rest.allSatisfy({ $0 == 0 }) { return }
                    throw Failure(message: "data after the end of the gzip stream at byte \(consumed) (not another gzip member)")
                case Z_DATA_ERROR:
                    let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
                    throw Failure(message: "corrupt gzip data (\(detail))")
                case Z_MEM_ERROR:
                    throw Failure(message: "out of memory while decompressing")
                default:
                    throw Failure(message: "zlib error \(status) while decompressing")
                }
            }
        }
        return out
    }

    /// A size as people read it: 2 GiB, 64 KiB, 1000 bytes.
    static func byteCount(_ n: Int) -> String {
        for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where n >= size && n % size == 0 {
            return "\(n / size) \(unit)"
        }
        return "\(n) bytes"
    }
}
