import Foundation
import Inference

/// A sensor of a registered stream, in registration order.
public struct SensorRecord: Sendable, Codable, Equatable {
    /// The edge's id for the sensor (VerTac's `sensor_id`), if it sent one.
    public var sensorID: String?
    public var name: String
    public var type: String?
    public var unit: String?

    public init(sensorID: String?, name: String, type: String?, unit: String?) {
        self.sensorID = sensorID
        self.name = name
        self.type = type
        self.unit = unit
    }
}

/// A registered stream and its restorable cycle state.
public struct StreamRecord: Sendable, Codable, Equatable {
    public var id: String
    public var deviceName: String
    public var datasetID: String
    public var registeredAt: Double
    public var sensors: [SensorRecord]
    /// Cycle state machine, as stored (restored on start).
    public var cycleState: CycleState
    public var cycleNumber: Int
    public var stateSince: Double
    public var lastActivity: Double
    /// Id of the current (or last) cycle.
    public var currentCycleID: String?
    /// Time of the last stored row.
    public var lastTimestamp: Double?
    /// Values carried forward because a sensor was missing from a row.
    public var filledValues: Int

    public init(id: String, deviceName: String, datasetID: String, registeredAt: Double, sensors: [SensorRecord],
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
public struct CycleRecord: Sendable, Codable, Equatable {
    public var id: String
    public var streamID: String
    public var number: Int
    public var state: CycleState
    public var startedAt: Double
    public var endedAt: Double?
    public var metadata: [String: String]
    public var rows: Int
    public var healthScore: Double?
    public var anomalous: Bool?
    /// The report's severity, once computed.
    public var severity: CycleReport.Severity?
    /// The post-cycle report as JSON, once computed.
    public var reportJSON: String?
    /// Set by an engineer.
    public var label: CycleLabel?

    public init(id: String, streamID: String, number: Int, state: CycleState, startedAt: Double, endedAt: Double? = nil,
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
public enum CycleLabel: String, Sendable, Codable, CaseIterable {
    case normal, anomalous, reference
}

/// One row of a stream: all its sensors' values at one timestamp.
public struct SampleRow: Sendable, Equatable {
    public var time: Double
    /// One value per registered sensor, in registration order.
    public var values: [Float]
    /// The cycle the row belongs to, if any.
    public var cycleID: String?

    public init(time: Double, values: [Float], cycleID: String?) {
        self.time = time
        self.values = values
        self.cycleID = cycleID
    }
}

/// What an ingest batch was acknowledged with (kept so that a retried batch id gets the same answer).
public struct BatchAck: Sendable, Equatable, Codable {
    public var ackID: String
    public var samples: Int
    public var rows: Int

    public init(ackID: String, samples: Int, rows: Int) {
        self.ackID = ackID
        self.samples = samples
        self.rows = rows
    }
}

/// A scored window kept for plotting.
public struct ScoreRecord: Sendable, Equatable, Codable {
    public var streamID: String
    public var cycleID: String?
    /// End time of the window (the stream's clock).
    public var time: Double
    public var score: Float
    /// Sensor scores s_j, in the stream's sensor order.
    public var sensorScores: [Float]

    public init(streamID: String, cycleID: String?, time: Double, score: Float, sensorScores: [Float]) {
        self.streamID = streamID
        self.cycleID = cycleID
        self.time = time
        self.score = score
        self.sensorScores = sensorScores
    }
}

/// The stored state of one (stream, sensor) state machine.
public struct SensorStateRecord: Sendable, Equatable, Codable {
    public var streamID: String
    public var sensor: String
    public var state: SensorState
    public var since: Double
    public var above: Int, below: Int, warningWindows: Int

    public init(streamID: String, sensor: String, state: SensorState, since: Double, above: Int, below: Int, warningWindows: Int) {
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
public struct TransitionRecord: Sendable, Equatable, Codable {
    public var streamID: String
    public var sensor: String
    public var from: SensorState
    public var to: SensorState
    public var time: Double
    public var reason: String
    public var evidenceJSON: String?

    public init(streamID: String, sensor: String, from: SensorState, to: SensorState, time: Double, reason: String, evidenceJSON: String?) {
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
public struct EventNote: Sendable, Equatable, Codable {
    public var eventID: String
    public var author: String
    public var note: String
    /// When it was written (seconds since 1970).
    public var at: Double

    public init(eventID: String, author: String, note: String, at: Double) {
        self.eventID = eventID
        self.author = author
        self.note = note
        self.at = at
    }
}

/// A model the server has loaded, with what the review API shows of it.
public struct ModelRecord: Sendable, Equatable, Codable {
    public var id: String
    /// Where it was loaded from.
    public var source: String
    public var sensors: [String]
    public var window: Int
    public var hidden: Int
    public var createdAt: String
    public var trainerVersion: String
    public var dataSHA256: String
    public var loadedAt: Double
    /// Whether it is the global active model.
    public var active: Bool
    /// When it last became the global active model (rollback goes to the one before).
    public var activatedAt: Double?
    /// Per-sensor thresholds and training summary, for the review API.
    public var windowThreshold: Float?
    public var sensorThresholds: [Float]?
    public var trainingLoss: [Float]?
    public var validationLoss: [Float]?
    public var hasReference: Bool?

    public init(id: String, source: String, sensors: [String], window: Int, hidden: Int, createdAt: String,
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
