import Foundation
import Inference

/// A sensor of a registered stream, in registration order.
struct SensorRecord: Sendable, Codable, Equatable {
    /// The edge's id for the sensor (VerTac's `sensor_id`), if it sent one.
    var sensorID: String?
    var name: String
    var type: String?
    var unit: String?

    init(sensorID: String?, name: String, type: String?, unit: String?) {
        self.sensorID = sensorID
        self.name = name
        self.type = type
        self.unit = unit
    }
}

/// A registered stream and its restorable cycle state.
struct StreamRecord: Sendable, Codable, Equatable {
    var id: String
    var deviceName: String
    var datasetID: String
    var registeredAt: Double
    var sensors: [SensorRecord]
    /// Cycle state machine, as stored (restored on start).
    var cycleState: CycleState
    var cycleNumber: Int
    var stateSince: Double
    var lastActivity: Double
    /// Id of the current (or last) cycle.
    var currentCycleID: String?
    /// Time of the last stored row.
    var lastTimestamp: Double?
    /// Values carried forward because a sensor was missing from a row.
    var filledValues: Int

    init(id: String, deviceName: String, datasetID: String, registeredAt: Double, sensors: [SensorRecord],
                cycleState: CycleState, cycleNumber: Int, stateSince: Double, lastActivity: Double, currentCycleID: String?,
                lastTimestamp: Double?, filledValues: Int) {
        self.id = id
        self.deviceName = deviceName
        self.datasetID = datasetID
        self.registeredAt = registeredAt
        self.sensors = sensors
        self.cycleState = cycleState
        self.cycleNumber = cycleNumber
        self.stateSince = stateSince
        self.lastActivity = lastActivity
        self.currentCycleID = currentCycleID
        self.lastTimestamp = lastTimestamp
        self.filledValues = filledValues
    }
}

/// One cycle of a stream.
struct CycleRecord: Sendable, Codable, Equatable {
    var id: String
    var streamID: String
    var number: Int
    var state: CycleState
    var startedAt: Double
    var endedAt: Double?
    var metadata: [String: String]
    var rows: Int
    var healthScore: Double?
    var anomalous: Bool?
    /// The report's severity, once computed.
    var severity: CycleReport.Severity?
    /// The post-cycle report as JSON, once computed.
    var reportJSON: String?
    /// Set by an engineer.
    var label: CycleLabel?

    init(id: String, streamID: String, number: Int, state: CycleState, startedAt: Double, endedAt: Double? = nil,
                metadata: [String: String] = [:], rows: Int = 0, healthScore: Double? = nil, anomalous: Bool? = nil,
                severity: CycleReport.Severity? = nil, reportJSON: String? = nil, label: CycleLabel? = nil) {
        self.id = id
        self.streamID = streamID
        self.number = number
        self.state = state
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.metadata = metadata
        self.rows = rows
        self.healthScore = healthScore
        self.anomalous = anomalous
        self.severity = severity
        self.reportJSON = reportJSON
        self.label = label
    }
}

/// How an engineer labelled a finished cycle (what `vertac-train fit` may train on).
enum CycleLabel: String, Sendable, Codable, CaseIterable {
    case normal, anomalous, reference
}

/// One row of a stream: all its sensors' values at one timestamp.
struct SampleRow: Sendable, Equatable {
    var time: Double
    /// One value per registered sensor, in registration order.
    var values: [Float]
    /// The cycle the row belongs to, if any.
    var cycleID: String?

    init(time: Double, values: [Float], cycleID: String?) {
        self.time = time
        self.values = values
        self.cycleID = cycleID
    }
}

/// What an ingest batch was acknowledged with (kept so that a retried batch id gets the same answer).
struct BatchAck: Sendable, Equatable, Codable {
    var ackID: String
    var samples: Int
    var rows: Int

    init(ackID: String, samples: Int, rows: Int) {
        self.ackID = ackID
        self.samples = samples
        self.rows = rows
    }
}

/// A scored window kept for plotting.
struct ScoreRecord: Sendable, Equatable, Codable {
    var streamID: String
    var cycleID: String?
    /// End time of the window (the stream's clock).
    var time: Double
    var score: Float
    /// Sensor scores s_j, in the stream's sensor order.
    var sensorScores: [Float]

    init(streamID: String, cycleID: String?, time: Double, score: Float, sensorScores: [Float]) {
        self.streamID = streamID
        self.cycleID = cycleID
        self.time = time
        self.score = score
        self.sensorScores = sensorScores
    }
}

/// The stored state of one (stream, sensor) state machine.
struct SensorStateRecord: Sendable, Equatable, Codable {
    var streamID: String
    var sensor: String
    var state: SensorState
    var since: Double
    var above: Int, below: Int, warningWindows: Int

    init(streamID: String, sensor: String, state: SensorState, since: Double, above: Int, below: Int, warningWindows: Int) {
        self.streamID = streamID
        self.sensor = sensor
        self.state = state
        self.since = since
        self.above = above
        self.below = below
        self.warningWindows = warningWindows
    }
}

/// A stored sensor transition with its evidence.
struct TransitionRecord: Sendable, Equatable, Codable {
    var streamID: String
    var sensor: String
    var from: SensorState
    var to: SensorState
    var time: Double
    var reason: String
    var evidenceJSON: String?

    init(streamID: String, sensor: String, from: SensorState, to: SensorState, time: Double, reason: String, evidenceJSON: String?) {
        self.streamID = streamID
        self.sensor = sensor
        self.from = from
        self.to = to
        self.time = time
        self.reason = reason
        self.evidenceJSON = evidenceJSON
    }
}

/// One note in an event's history: who wrote it and when.
struct EventNote: Sendable, Equatable, Codable {
    var eventID: String
    var author: String
    var note: String
    /// When it was written (seconds since 1970).
    var at: Double

    init(eventID: String, author: String, note: String, at: Double) {
        self.eventID = eventID
        self.author = author
        self.note = note
        self.at = at
    }
}

/// A model the server has loaded, with what the review API shows of it.
struct ModelRecord: Sendable, Equatable, Codable {
    var id: String
    /// Where it was loaded from.
    var source: String
    var sensors: [String]
    var window: Int
    var hidden: Int
    var createdAt: String
    var trainerVersion: String
    var dataSHA256: String
    var loadedAt: Double
    /// Whether it is the global active model.
    var active: Bool
    /// When it last became the global active model (rollback goes to the one before).
    var activatedAt: Double?
    /// Per-sensor thresholds and training summary, for the review API.
    var windowThreshold: Float?
    var sensorThresholds: [Float]?
    var trainingLoss: [Float]?
    var validationLoss: [Float]?
    var hasReference: Bool?

    init(id: String, source: String, sensors: [String], window: Int, hidden: Int, createdAt: String,
                trainerVersion: String, dataSHA256: String, loadedAt: Double, active: Bool) {
        self.id = id
        self.source = source
        self.sensors = sensors
        self.window = window
        self.hidden = hidden
        self.createdAt = createdAt
        self.trainerVersion = trainerVersion
        self.dataSHA256 = dataSHA256
        self.loadedAt = loadedAt
        self.active = active
    }
}
