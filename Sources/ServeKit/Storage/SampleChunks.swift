import Foundation
import Inference

/// A batch's rows as they are stored: sorted by time, one chunk per run of rows that share a
/// cycle (a live batch is one chunk), each chunk one row of `sample_chunks` with its rows' times
/// and values packed. One row per chunk, not per sample row, is what lets a store take hundreds
/// of thousands of rows a second: a row costs a B-tree insert in two indexes, a chunk of a
/// hundred rows costs the same.
///
/// A stream's chunks never overlap in time: a batch whose rows fall within a stored chunk's
/// first and last time (or that repeats a time) is refused whole — the live service sends only
/// rows after the stream's last one.
struct SampleChunk: Equatable {
    let first: Double
    let last: Double
    let cycleID: String?
    let times: [Double]
    /// `times.count × D` values, row after row.
    let values: [Float]

    var count: Int { times.count }

    /// The chunks of a batch's rows, in time order.
    ///
    /// - Throws: ``SampleOverlap`` when two rows share a time.
    static func chunks(of rows: [SampleRow], stream: String) throws -> [SampleChunk] {
        let sorted = rows.sorted { $0.time < $1.time }
        var out: [SampleChunk] = []
        var start = 0
        for k in 0..<sorted.count {
            if k > 0, sorted[k].time == sorted[k - 1].time { throw SampleOverlap(stream: stream, time: sorted[k].time) }
            let ends = k + 1 == sorted.count || sorted[k + 1].cycleID != sorted[k].cycleID
            guard ends else { continue }
            let run = sorted[start...k]
            out.append(SampleChunk(first: run.first!.time, last: run.last!.time, cycleID: run.first!.cycleID,
                                   times: run.map(\.time), values: run.flatMap(\.values)))
            start = k + 1
        }
        return out
    }

    /// The rows of a stored chunk.
    ///
    /// - Throws: ``StoreError`` when its columns do not fit together.
    static func rows(_ r: some StoredRow) throws -> [SampleRow] {
        let n = try r.int("n"), first = try r.double("t_first")
        let times = try r.optionalDoubles("times") ?? [first]
        let values = try r.floats("vals")
        guard n > 0, times.count == n, values.count % n == 0 else {
            throw StoreError.unparsable("vals", "\(n) rows, \(times.count) times, \(values.count) values", as: SampleChunk.self)
        }
        let cycle = try r.optionalString("cycle_id"), d = values.count / n
        return (0..<n).map { k in SampleRow(time: times[k], values: Array(values[k * d..<(k + 1) * d]), cycleID: cycle) }
    }

    /// The SQL that finds the chunks holding a stream's rows between two times (`$1` stream,
    /// `$2` from, `$3` to): those starting up to `to`, from the last one that starts at or before
    /// `from` (it may hold rows after `from`), by the `(stream_id, t_first)` index.
    static func rangeQuery(_ p: (Int) -> String) -> String {
        """
        SELECT t_first, cycle_id, n, times, vals FROM sample_chunks
        WHERE stream_id = \(p(1)) AND t_first <= \(p(3)) AND t_first >= COALESCE(
            (SELECT t_first FROM sample_chunks WHERE stream_id = \(p(1)) AND t_first <= \(p(2)) ORDER BY t_first DESC LIMIT 1), \(p(2)))
        ORDER BY t_first
        """
    }

    /// The SQL that finds the last time of the stream's chunk starting last at or before a time
    /// (`$1` stream, `$2` time): a new chunk overlaps stored ones exactly when that time is at or
    /// after the new chunk's first.
    static func overlapQuery(_ p: (Int) -> String) -> String {
        "SELECT t_last FROM sample_chunks WHERE stream_id = \(p(1)) AND t_first <= \(p(2)) ORDER BY t_first DESC LIMIT 1"
    }
}

/// A batch of a stream the store does not hold.
struct UnknownStream: Error, CustomStringConvertible {
    let id: String
    var description: String { "stream \(id) is not stored" }
}

/// A batch refused because a row's time repeats, or falls within, the stream's stored rows.
struct SampleOverlap: Error, CustomStringConvertible {
    let stream: String
    let time: Double
    var description: String { "rows of stream \(stream) at t = \(time) overlap rows already stored" }
}
