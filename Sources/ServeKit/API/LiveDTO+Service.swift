import Foundation
import Inference

// The live API's wire forms read into the live service's values, and its answers written back.

extension RegisterRequest {
    var spec: StreamSpec {
        StreamSpec(deviceName: device_name,
                   sensors: sensors.map { SensorRecord(sensorID: $0.sensor_id, name: $0.name, type: $0.type, unit: $0.unit) },
                   declaredCount: sensor_count)
    }
}

extension RegisterResponse {
    init(_ r: Registration) { self.init(stream_id: r.streamID, dataset_id: r.datasetID, status: "registered") }
}

extension BatchRequest {
    /// The batch with its wire forms read: timestamps as epoch seconds, values as `Float`.
    ///
    /// - Throws: ``APIError`` 400 naming the first sample or row that cannot be read.
    func ingestBatch() throws -> IngestBatch {
        let readings: IngestBatch.Readings
        switch (samples, rows) {
        case (.some, .some): throw APIError.badRequest("send either samples or rows, not both")
        case (nil, nil): throw APIError.badRequest("a batch needs samples or rows")
        case (.some(let samples), nil):
            readings = .samples(try samples.enumerated().map { k, s in
                guard let v = s.value else { throw APIError.badRequest("samples[\(k)]: value is missing") }
                return IngestBatch.Reading(time: try Self.seconds(s.timestamp, "samples[\(k)]"), sensorID: s.sensor_id,
                                           sensorName: s.sensor_name, value: try Self.float(v, "samples[\(k)]"))
            })
        case (nil, .some(let rows)):
            readings = .rows(try rows.enumerated().map { k, r in
                IngestBatch.Row(time: try Self.seconds(r.timestamp, "rows[\(k)]"),
                                values: try r.values.enumerated().map { j, v in try v.map { try Self.float($0, "rows[\(k)].values[\(j)]") } })
            })
        }
        return IngestBatch(streamID: stream_id, batchID: batch_id, readings: readings)
    }

    private static func float(_ v: Double, _ at: @autoclosure () -> String) throws -> Float {
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

extension BatchResponse {
    init(_ r: IngestReceipt) {
        self.init(ack_id: r.ackID, buffer_status: "ok", samples_received: r.samples, rows_stored: r.rows, duplicate: r.duplicate)
    }
}

extension CycleResponse {
    init(_ c: CycleOutcome) { self.init(status: "ok", cycle_id: c.cycleID, state: c.state.rawValue.lowercased(), stream_id: c.streamID) }
}

extension StatusResponse {
    init(_ s: StreamStatus) {
        self.init(stream_id: s.streamID, device_name: s.deviceName, state: s.state.rawValue, cycle_id: s.cycleID, cycle_number: s.cycleNumber,
                  state_since: Timestamp.format(s.stateSince), last_sample_at: s.lastSampleAt.map(Timestamp.format),
                  samples_filled_forward: s.filledForward,
                  sensors: zip(s.sensors, s.lastValues).map { .init(name: $0.name, unit: $0.unit, last_value: $1) },
                  model_loaded: s.scored, scoring: s.scoring)
    }
}
