/// How urgent a maintenance event is.
public enum EventSeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case medium = "MEDIUM", high = "HIGH", critical = "CRITICAL"

    var rank: Int { self == .medium ? 0 : self == .high ? 1 : 2 }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }

    /// Multiplier of a sensor's base cost estimate at this severity.
    public var costFactor: Double { self == .medium ? 0.5 : self == .high ? 1.0 : 1.5 }
}

/// Where an event is in its lifecycle: OPEN → ACKNOWLEDGED → RESOLVED.
public enum EventStatus: String, Sendable, Codable, CaseIterable {
    case open = "OPEN", acknowledged = "ACKNOWLEDGED", resolved = "RESOLVED"
}

/// How an event was closed. A false positive is feedback for the next training set.
public enum EventResolution: String, Sendable, Codable, CaseIterable {
    case fixed, falsePositive = "false_positive", planned
}

/// A sensor's share in the window that raised or escalated an event.
public struct SensorContribution: Sendable, Equatable, Codable {
    public var sensor: String
    public var score: Float

    public init(sensor: String, score: Float) {
        self.sensor = sensor
        self.score = score
    }
}

/// A lifecycle change that is not allowed.
public struct EventLifecycleError: Error, Equatable, CustomStringConvertible {
    public let action: String
    public let status: EventStatus
    public var description: String { "cannot \(action) an event that is \(status.rawValue)" }
}

/// A maintenance event for one (stream, sensor).
public struct MaintenanceEvent: Sendable, Equatable, Codable {
    /// Stable, URL-safe identity derived from stream, sensor and opening time (``MaintenanceEvent/makeID(stream:sensor:time:)``).
    public var id: String
    public var stream: String
    public var sensor: String
    public var severity: EventSeverity
    public var status: EventStatus = .open
    public var openedAt: Double
    public var updatedAt: Double
    /// Why it was opened or last escalated.
    public var reason: String
    public var evidence: SensorEvidence?
    /// Sensors with the highest scores in that window, highest first.
    public var topSensors: [SensorContribution]
    /// Estimated cost (base cost of the sensor × severity factor), when a base cost is configured.
    public var estimatedCost: Double?
    public var acknowledgedBy: String?, acknowledgedAt: Double?
    public var resolvedBy: String?, resolvedAt: Double?
    public var resolution: EventResolution?
    public var note: String?

    /// `evt-` and 16 hex digits of a 64-bit FNV-1a hash of stream, sensor and time: the same
    /// inputs give the same id (a replay after a restart does not duplicate an event).
    public static func makeID(stream: String, sensor: String, time: Double) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(stream)\u{0}\(sensor)\u{0}\(time)".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return "evt-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public init(id: String, stream: String, sensor: String, severity: EventSeverity, status: EventStatus = .open,
                openedAt: Double, updatedAt: Double, reason: String, evidence: SensorEvidence?, topSensors: [SensorContribution],
                estimatedCost: Double?) {
        self.id = id
        self.stream = stream
        self.sensor = sensor
        self.severity = severity
        self.status = status
        self.openedAt = openedAt
        self.updatedAt = updatedAt
        self.reason = reason
        self.evidence = evidence
        self.topSensors = topSensors
        self.estimatedCost = estimatedCost
    }

    /// Whether the event still counts as open (OPEN or ACKNOWLEDGED).
    public var isOpen: Bool { status != .resolved }

    /// This event as detection left it, with the review an engineer stored meanwhile: status,
    /// acknowledgement, resolution and note come from `stored`, severity, reason and evidence
    /// from `self`. Detection and review each own their fields, so that neither overwrites
    /// the other's.
    public func keepingReview(of stored: MaintenanceEvent) -> MaintenanceEvent {
        var e = self
        e.status = stored.status
        (e.acknowledgedBy, e.acknowledgedAt) = (stored.acknowledgedBy, stored.acknowledgedAt)
        (e.resolvedBy, e.resolvedAt, e.resolution) = (stored.resolvedBy, stored.resolvedAt, stored.resolution)
        e.note = stored.note
        e.updatedAt = max(updatedAt, stored.updatedAt)
        return e
    }

    /// OPEN → ACKNOWLEDGED.
    public mutating func acknowledge(by who: String, at time: Double, note: String? = nil) throws {
        guard status == .open else { throw EventLifecycleError(action: "acknowledge", status: status) }
        status = .acknowledged
        (acknowledgedBy, acknowledgedAt, updatedAt) = (who, time, time)
        if let note { self.note = note }
    }

    /// OPEN or ACKNOWLEDGED → RESOLVED.
    public mutating func resolve(by who: String, at time: Double, resolution: EventResolution, note: String? = nil) throws {
        guard status != .resolved else { throw EventLifecycleError(action: "resolve", status: status) }
        status = .resolved
        (resolvedBy, resolvedAt, updatedAt, self.resolution) = (who, time, time, resolution)
        if let note { self.note = note }
    }
}

/// When maintenance events are opened and escalated.
///
/// - A sensor reaching CRITICAL opens a HIGH event; one in WARNING for longer than
///   `warningDuration` opens a MEDIUM event.
/// - A CRITICAL sensor whose score exceeds `criticalScore`, or that stays CRITICAL longer than
///   `criticalDuration`, escalates its event to CRITICAL.
/// - At most one open event per (stream, sensor): a further trigger escalates the open event
///   (never lowers it) instead of opening another.
public struct MaintenancePolicy: Sendable, Equatable {
    public var warningDuration: Double
    public var criticalDuration: Double
    public var criticalScore: Float
    /// Base cost estimate per sensor name (optional): the cost of a HIGH event on that sensor;
    /// MEDIUM costs half of it, CRITICAL one and a half times.
    public var baseCost: [String: Double]
    /// The base cost of a sensor not in ``baseCost``; nil: its events carry no estimate.
    public var defaultCost: Double?
    /// How many contributing sensors an event lists.
    public var topCount: Int

    public init(warningDuration: Double = 300, criticalDuration: Double = 600, criticalScore: Float = 6,
                baseCost: [String: Double] = [:], defaultCost: Double? = nil, topCount: Int = 3) {
        self.warningDuration = warningDuration
        self.criticalDuration = criticalDuration
        self.criticalScore = criticalScore
        self.baseCost = baseCost
        self.defaultCost = defaultCost
        self.topCount = topCount
    }

    /// What to do after a window for one sensor.
    public enum Decision: Sendable, Equatable {
        case none
        case open(MaintenanceEvent)
        case escalate(MaintenanceEvent)
    }

    /// Decides for one sensor after a window.
    ///
    /// - Parameters:
    ///   - state: the sensor's state machine after the window.
    ///   - transition: the transition the window caused, if any.
    ///   - evidence: the window's evidence for this sensor.
    ///   - contributions: every sensor's score in the window.
    ///   - existing: the open event of this (stream, sensor), if any.
    public func decide(stream: String, sensor: String, state: SensorStateMachine, transition: SensorTransition?,
                       evidence: SensorEvidence, contributions: [SensorContribution], existing: MaintenanceEvent?) -> Decision {
        let t = evidence.time
        // The severity first; the reason's text and the top sensors only for a window that opens
        // or escalates (a sensor that stays CRITICAL asks this after every window).
        let wanted: (EventSeverity, () -> String)?
        switch state.state {
        case .critical:
            if evidence.score > criticalScore {
                wanted = (.critical, { "score \(twoDecimals(evidence.score)) above \(criticalScore)× threshold" })
            } else if t - state.since >= criticalDuration {
                wanted = (.critical, { "critical for \(Int(t - state.since)) s" })
            } else if let transition, transition.to == .critical {
                wanted = (.high, { "sensor reached CRITICAL: \(transition.reason)" })
            } else if existing == nil || existing!.severity < .high {
                wanted = (.high, { "sensor is CRITICAL" })
            } else {
                wanted = nil
            }
        case .warning where t - state.since >= warningDuration:
            wanted = (.medium, { "warning for \(Int(t - state.since)) s" })
        default:
            wanted = nil
        }
        guard let (severity, describe) = wanted else { return .none }
        if let e = existing, e.isOpen, severity <= e.severity { return .none }
        let reason = describe()
        let top = Array(contributions.sorted { $0.score > $1.score }.prefix(topCount))
        let cost = (baseCost[sensor] ?? defaultCost).map { $0 * severity.costFactor }
        if var e = existing, e.isOpen {
            (e.severity, e.reason, e.evidence, e.topSensors, e.updatedAt) = (severity, reason, evidence, top, t)
            if let cost { e.estimatedCost = cost }
            return .escalate(e)
        }
        return .open(MaintenanceEvent(id: MaintenanceEvent.makeID(stream: stream, sensor: sensor, time: t), stream: stream, sensor: sensor, severity: severity,
                                      openedAt: t, updatedAt: t, reason: reason, evidence: evidence,
                                      topSensors: top, estimatedCost: cost))
    }
}
