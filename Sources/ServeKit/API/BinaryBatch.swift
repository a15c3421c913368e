/// A batch as one binary WebSocket message on a stream's socket (`/api/live/ws/stream/{id}`):
/// the fast path for edges that send many rows (no text to format or to parse). Little-endian:
///
/// | bytes | field |
/// |---|---|
/// | 4 | `VTB1` |
/// | 4 | rows, u32, 1…10,000 |
/// | 2 | values per row, u16 (the stream's sensors, in registered order) |
/// | 2 | batch id length in bytes, u16, 0 (none) … 128 |
/// | n | batch id, UTF-8 |
/// | rows × (8 + 4 × values) | per row: timestamp f64 (epoch seconds), then each value f32; NaN: not sent (carried forward) |
///
/// The message is exactly that long. The answer is the same `ack` (or `error`) text as for a
/// JSON batch.
enum BinaryBatch {
    static let magic: [UInt8] = Array("VTB1".utf8)
    static let headerBytes = 12
    static let maxRows = 10_000
    static let maxBatchIDBytes = 128

    /// Reads a binary batch for `stream`.
    ///
    /// - Throws: ``BatchDecodingError`` naming what is wrong with the layout; the values
    ///   themselves (finite, one per sensor) are checked by the live service.
    static func decode(_ bytes: UnsafeRawBufferPointer, stream: String) throws(BatchDecodingError) -> IngestBatch {
        guard bytes.count >= headerBytes, bytes.prefix(4).elementsEqual(magic) else {
            throw BatchDecodingError(message: "a binary batch starts with VTB1 and a 12-byte header")
        }
        let rows = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let width = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        let idLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt16.self)))
        guard (1...maxRows).contains(rows) else { throw BatchDecodingError(message: "a binary batch holds 1 to \(maxRows) rows, not \(rows)") }
        guard width > 0 else { throw BatchDecodingError(message: "a binary batch's rows need at least one value") }
        guard idLength <= maxBatchIDBytes else { throw BatchDecodingError(message: "batch id over \(maxBatchIDBytes) bytes") }
        let rowBytes = 8 + 4 * width
        let expected = headerBytes + idLength + rows * rowBytes
        guard bytes.count == expected else {
            throw BatchDecodingError(message: "a binary batch of \(rows) rows of \(width) values and a \(idLength)-byte batch id is \(expected) bytes, not \(bytes.count)")
        }
        var batchID: String?
        if idLength > 0 {
            guard let id = String(validating: UnsafeRawBufferPointer(rebasing: bytes[headerBytes..<headerBytes + idLength]), as: UTF8.self) else {
                throw BatchDecodingError(message: "the batch id is not valid UTF-8")
            }
            batchID = id
        }
        var out: [IngestBatch.Row] = []
        out.reserveCapacity(rows)
        var offset = headerBytes + idLength
        for _ in 0..<rows {
            let time = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            var values = [Float?](repeating: nil, count: width)
            for j in 0..<width {
                let v = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8 + 4 * j, as: UInt32.self)))
                if !v.isNaN { values[j] = v }
            }
            out.append(IngestBatch.Row(time: time, values: values))
            offset += rowBytes
        }
        return IngestBatch(streamID: stream, batchID: batchID, readings: .rows(out))
    }

    /// The message for `rows` (tools and tests; `vertac-edge load --transport binary` writes the same).
    static func encode(times: [Double], values: [Float], width: Int, batchID: String? = nil) -> [UInt8] {
        precondition(width > 0 && values.count == times.count * width, "one value per sensor and row")
        let id = Array((batchID ?? "").utf8)
        var out = magic
        out.reserveCapacity(headerBytes + id.count + times.count * (8 + 4 * width))
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(times.count))
        put(UInt16(width))
        put(UInt16(id.count))
        out += id
        for (k, t) in times.enumerated() {
            put(t.bitPattern)
            for j in 0..<width { put(values[k * width + j].bitPattern) }
        }
        return out
    }
}
