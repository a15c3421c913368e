import Inference

/// A `samples` push: the rows of a committed batch.
struct SamplesMessage: Encodable {
    struct Row: Encodable {
        let timestamp: String
        let values: [Float]
    }
    let sensors: [String]
    let rows: [Row]
}

/// A `state_change` push for a cycle.
struct CycleChangeMessage: Encodable {
    let kind = "cycle"
    let from: String
    let to: String
    let cycle_id: String?
    let time: String
    let reason: String

    init(_ t: CycleTransition, cycleID: String?) {
        from = t.from.rawValue
        to = t.to.rawValue
        cycle_id = cycleID
        time = Timestamp.format(t.time)
        reason = t.reason
    }
}

/// A `signal` push: a stream's rows reduced to time buckets (see ``SignalDecimator``).
struct SignalMessage: Encodable {
    let sensors: [String]
    /// Bucket length, seconds.
    let bucket: Double
    let cycle_id: String?
    let points: [SignalDecimator.Point]
}
