import Inference
import Logging

extension Push {
    /// One log line for what engineers are told of: a cycle or sensor state change, or an event
    /// opened or escalated (CRITICAL sensors and HIGH or CRITICAL events at warning level);
    /// nothing for samples, signals, scores and reports. Logged by the stream's owner, once per
    /// change in a cluster.
    func log(to logger: Logger, stream: String) {
        switch self {
        case .cycleState(let from, let to, let cycleID, let time, let reason):
            logger.info("cycle state changed", metadata: [
                "stream": "\(stream)", "from": "\(from.rawValue)", "to": "\(to.rawValue)", "cycle_id": "\(cycleID ?? "")",
                "at": "\(time)", "reason": "\(reason)",
            ])
        case .sensorState(let sensor, let from, let to, let time, let reason):
            logger.log(level: to == .critical ? .warning : .info, "sensor state changed", metadata: [
                "stream": "\(stream)", "sensor": "\(sensor)", "from": "\(from.rawValue)", "to": "\(to.rawValue)", "at": "\(time)",
                "reason": "\(reason)",
            ])
        case .maintenanceEvent(let e):
            logger.log(level: e.severity >= .high ? .warning : .notice, "maintenance event", metadata: e.logMetadata)
        case .samples, .signal, .windowScores, .cycleReport:
            break
        }
    }
}

extension MaintenanceEvent {
    var logMetadata: Logger.Metadata {
        var m: Logger.Metadata = [
            "event_id": "\(id)", "stream": "\(stream)", "sensor": "\(sensor)", "severity": "\(severity.rawValue)",
            "status": "\(status.rawValue)", "reason": "\(reason)", "updated_at": "\(updatedAt)",
        ]
        if let estimatedCost { m["estimated_cost"] = "\(estimatedCost)" }
        if let resolution { m["resolution"] = "\(resolution.rawValue)" }
        if let by = resolvedBy ?? acknowledgedBy { m["by"] = "\(by)" }
        return m
    }
}
