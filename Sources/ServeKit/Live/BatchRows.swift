import Inference

extension LiveService {
    /// Validates a batch and turns it into rows (one per timestamp, registered sensor order),
    /// carrying a missing sensor's last value forward. Nothing is stored when this throws.
    static func rows(of b: BatchRequest, stream: StreamRecord, lastValues: [Float?], limits: IngestLimits) throws
        -> (rows: [SampleRow], samples: Int, filled: Int)
    {
        let D = stream.sensors.count
        var grouped: [(time: Double, values: [Float?])] = []
        var count = 0
        switch (b.samples, b.rows) {
        case (.some, .some): throw APIError.badRequest("send either samples or rows, not both")
        case (nil, nil): throw APIError.badRequest("a batch needs samples or rows")
        case (.some(let samples), nil):
            guard samples.count <= limits.maxSamplesPerBatch else {
                throw APIError(.contentTooLarge, "too_many_samples", "\(samples.count) samples; at most \(limits.maxSamplesPerBatch) per batch")
            }
            grouped = try group(samples, stream: stream)
            count = samples.count
        case (nil, .some(let rows)):
            guard rows.count <= limits.maxRowsPerBatch else {
                throw APIError(.contentTooLarge, "too_many_rows", "\(rows.count) rows; at most \(limits.maxRowsPerBatch) per batch")
            }
            for (k, r) in rows.enumerated() {
                guard r.values.count == D else {
                    throw APIError.unprocessable("wrong_row_length", "rows[\(k)]: \(r.values.count) values; the stream has \(D) sensors")
                }
                var values = [Float?](repeating: nil, count: D)
                for (j, v) in r.values.enumerated() {
                    guard let v else { continue }
                    values[j] = try finite(v, "rows[\(k)].values[\(j)]")
                }
                grouped.append((try seconds(r.timestamp, "rows[\(k)]"), values))
                count += values.compactMap { $0 }.count
            }
        }
        guard !grouped.isEmpty else { throw APIError.badRequest("the batch is empty") }
        grouped.sort { $0.time < $1.time }
        for k in 1..<max(1, grouped.count) where grouped[k].time == grouped[k - 1].time {
            throw APIError.badRequest("two rows share the timestamp \(Timestamp.format(grouped[k].time))")
        }
        // Carry values forward; a sensor never seen before takes its first value in this batch.
        var last = lastValues
        for j in 0..<D where last[j] == nil { last[j] = grouped.first { $0.values[j] != nil }?.values[j] }
        if let missing = (0..<D).first(where: { last[$0] == nil }) {
            throw APIError.unprocessable("no_value_yet", "sensor \"\(stream.sensors[missing].name)\" has no value yet: send it at least once")
        }
        var filled = 0
        let rows = grouped.map { g -> SampleRow in
            let values = (0..<D).map { j -> Float in
                if let v = g.values[j] { last[j] = v; return v }
                filled += 1
                return last[j]!
            }
            return SampleRow(time: g.time, values: values, cycleID: nil)
        }
        return (rows, count, filled)
    }

    /// VerTac's per-sample objects grouped into rows by timestamp.
    private static func group(_ samples: [BatchRequest.Sample], stream: StreamRecord) throws -> [(time: Double, values: [Float?])] {
        var byID: [String: Int] = [:], byName: [String: Int] = [:]
        for (j, s) in stream.sensors.enumerated() {
            if let id = s.sensorID { byID[id] = j }
            byName[s.name] = j
        }
        var grouped: [(time: Double, values: [Float?])] = []
        var index: [Double: Int] = [:]
        for (k, s) in samples.enumerated() {
            func at() -> String { "samples[\(k)]" }
            let j: Int
            if let id = s.sensor_id, let found = byID[id] {
                j = found
            } else if let name = s.sensor_name, let found = byName[name] {
                j = found
            } else {
                throw APIError.unprocessable("unknown_sensor",
                                             "\(at()): sensor \(s.sensor_id ?? s.sensor_name ?? "(none given)") is not registered for this stream")
            }
            guard let v = s.value else { throw APIError.badRequest("\(at()): value is missing") }
            let value = try finite(v, at())
            let t = try seconds(s.timestamp, at())
            if let r = index[t] {
                grouped[r].values[j] = value
            } else {
                index[t] = grouped.count
                var values = [Float?](repeating: nil, count: stream.sensors.count)
                values[j] = value
                grouped.append((t, values))
            }
        }
        return grouped
    }

    private static func finite(_ v: Double, _ at: @autoclosure () -> String) throws -> Float {
        guard v.isFinite, abs(v) <= Double(Float.greatestFiniteMagnitude) else {
            throw APIError.badRequest("\(at()): value is not a finite number")
        }
        return Float(v)
    }

    private static func seconds(_ w: WireTime, _ at: @autoclosure () -> String) throws -> Double {
        switch w {
        case .seconds(let s):
            guard Timestamp.isValid(s) else {
                throw APIError.badRequest("\(at()): timestamp \(s) is outside 1900-01-01 to 2199-12-31 (epoch seconds)")
            }
            return s
        case .text(let t):
            guard let s = Timestamp.parse(t) else { throw APIError.badRequest("\(at()): \"\(t)\" is not an ISO 8601 time or epoch seconds between 1900 and 2199") }
            return s
        }
    }
}
