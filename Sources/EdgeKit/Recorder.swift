import Foundation

/// Turns rows into outbox items: a batch every `batchRows` rows or `batchSeconds` seconds
/// (whichever comes first), each with a `batch_id` fixed when it is written — so that a retry,
/// even after an edge restart, is the same batch to the server. Cycle events go in between, in order.
public final class Recorder: @unchecked Sendable {
    let buffer: EdgeBuffer
    let stream: String
    let batchRows: Int
    let batchSeconds: Double
    private var rows: [(time: Double, values: [Float])] = []
    private var counter: Int

    public init(buffer: EdgeBuffer, stream: String, batchRows: Int = 10, batchSeconds: Double = 1) throws {
        precondition(batchRows > 0 && batchSeconds > 0, "batch size and interval must be positive")
        self.buffer = buffer
        self.stream = stream
        self.batchRows = batchRows
        self.batchSeconds = batchSeconds
        counter = Int(try buffer.meta("batch_counter") ?? "0") ?? 0
    }

    /// A cycle event (`start`, `stop`, `pause`, `resume`), after any rows before it.
    public func event(_ name: String, metadata: [String: String] = [:]) throws {
        try flush()
        let body = metadata.isEmpty ? "" : String(decoding: try JSONSerialization.data(withJSONObject: ["metadata": metadata]), as: UTF8.self)
        try buffer.enqueue(kind: name, body: body)
    }

    /// One row, timestamped at the source (seconds since 1970), values in registered sensor order.
    public func row(time: Double, values: [Float]) throws {
        rows.append((time, values))
        if rows.count >= batchRows || time - rows[0].time >= batchSeconds { try flush() }
    }

    /// Writes the rows so far as one batch.
    public func flush() throws {
        guard !rows.isEmpty else { return }
        counter += 1
        let body: [String: Any] = [
            "stream_id": stream, "batch_id": "\(stream)-\(counter)",
            "rows": rows.map { ["timestamp": $0.time, "values": $0.values.map(Double.init)] as [String: Any] },
        ]
        try buffer.enqueue(kind: "batch", body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        try buffer.setMeta("batch_counter", "\(counter)")
        rows.removeAll(keepingCapacity: true)
    }
}
