import Inference

extension LiveService {
    /// Validates a batch and turns it into rows (one per timestamp, registered sensor order),
    /// carrying a missing sensor's last value forward. Nothing is stored when this throws.
    static func rows(of b: IngestBatch, stream: StreamRecord, lastValues: [Float?], limits: IngestLimits) throws
        -> (rows: [SampleRow], samples: Int, filled: Int)
    {
        let D = stream.sensors.count
        var grouped: [IngestBatch.Row]
        var count = 0
        switch b.readings {
        case .samples(let samples):
            guard samples.count <= limits.maxSamplesPerBatch else {
                throw ServiceError(.tooManySamples, "\(samples.count) samples; at most \(limits.maxSamplesPerBatch) per batch")
            }
            grouped = try group(samples, stream: stream)
            count = samples.count
        case .rows(let rows):
            guard rows.count <= limits.maxRowsPerBatch else {
                throw ServiceError(.tooManyRows, "\(rows.count) rows; at most \(limits.maxRowsPerBatch) per batch")
            }
            for (k, r) in rows.enumerated() {
                guard r.values.count == D else {
                    throw ServiceError(.wrongRowLength, "rows[\(k)]: \(r.values.count) values; the stream has \(D) sensors")
                }
                for (j, v) in r.values.enumerated() {
                    guard let v else { continue }
                    try finite(v, "rows[\(k)].values[\(j)]")
                    count += 1
                }
            }
            grouped = rows
        }
        guard !grouped.isEmpty else { throw ServiceError.badRequest("the batch is empty") }
        if let bad = grouped.first(where: { !Timestamp.isValid($0.time) }) {
            throw ServiceError.badRequest("timestamp \(bad.time) is outside 1900-01-01 to 2199-12-31 (epoch seconds)")
        }
        if zip(grouped, grouped.dropFirst()).contains(where: { $0.time >= $1.time }) { grouped.sort { $0.time < $1.time } }
        for k in 1..<max(1, grouped.count) where grouped[k].time == grouped[k - 1].time {
            throw ServiceError.badRequest("two rows share the timestamp \(Timestamp.format(grouped[k].time))")
        }
        // Carry values forward; a sensor never seen before takes its first value in this batch.
        var last = lastValues
        for j in 0..<D where last[j] == nil { last[j] = grouped.first { $0.values[j] != nil }?.values[j] }
        if let missing = (0..<D).first(where: { last[$0] == nil }) {
            throw ServiceError(.noValueYet, "sensor \"\(stream.sensors[missing].name)\" has no value yet: send it at least once")
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
    private static func group(_ samples: [IngestBatch.Reading], stream: StreamRecord) throws -> [IngestBatch.Row] {
        var byID: [String: Int] = [:], byName: [String: Int] = [:]
        for (j, s) in stream.sensors.enumerated() {
            if let id = s.sensorID { byID[id] = j }
            byName[s.name] = j
        }
        var grouped: [(time: Double, values: [Float?])] = []
        var index: [Double: Int] = [:]
        for (k, s) in samples.enumerated() {
            let j: Int
            if let id = s.sensorID, let found = byID[id] {
                j = found
            } else if let name = s.sensorName, let found = byName[name] {
                j = found
            } else {
                throw ServiceError(.unknownSensor, "samples[\(k)]: sensor \(s.sensorID ?? s.sensorName ?? "(none given)") is not registered for this stream")
            }
            try finite(s.value, "samples[\(k)]")
            if let r = index[s.time] {
                grouped[r].values[j] = s.value
            } else {
                index[s.time] = grouped.count
                var values = [Float?](repeating: nil, count: stream.sensors.count)
                values[j] = s.value
                grouped.append((s.time, values))
            }
        }
        return grouped.map { IngestBatch.Row(time: $0.time, values: $0.values) }
    }

    private static func finite(_ v: Float, _ at: @autoclosure () -> String) throws {
        guard v.isFinite else { throw ServiceError.badRequest("\(at()): value is not a finite number") }
    }
}
