import Inference
import Model

/// A maintenance event raised while a cycle was replayed.
public struct CycleEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case opened, escalated }

    public var kind: Kind
    /// The row (0-based in the cycle) whose window raised it, and that row's time (seconds).
    public var row: Int
    public var time: Double
    public var sensor: String
    public var severity: EventSeverity
    public var reason: String
    /// Sensors with the highest scores in that window, highest first.
    public var topSensors: [String]
}

/// What the live pipeline made of one cycle: row scores and decisions, maintenance events, the
/// post-cycle report, and one score for the whole cycle.
public struct CycleOutcome: Sendable {
    public var rows: Int
    /// The model's sensors, the order of ``sensorScores``.
    public var sensors: [String]
    /// Per row: the largest sensor score s_j of the window ending there; nil for the first T−1
    /// rows, which end no window.
    public var rowScores: [Float?]
    /// Per row and sensor, `[rows, D]`: s_j = max(e_j / threshold_j, dtw_j / dtw_threshold_j) of
    /// the window ending at the row; 0 where ``rowScores`` is nil.
    public var sensorScores: [Float]
    /// Per row: the detector's decision (``ModelScoring/decisions(_:values:rows:threads:)``): some
    /// s_j above 1, or the window score above the window threshold.
    public var flags: [Bool]
    /// Events opened and escalated, in the order they happened.
    public var events: [CycleEvent]
    /// The post-cycle report, or nil without a reference cycle (or with fewer than 2 rows).
    public var report: CycleReport?
    /// How anomalous the cycle is as a whole (``CycleEvaluator/cycleScore(_:)``): higher is worse.
    public var score: Double
    /// Whether the live server would have raised anything: an event, or a report above normal.
    public var flagged: Bool

    /// The report's health score (0–100), when there is a report.
    public var health: Double? { report?.healthScore }
}

/// Replays one cycle as the live server scores it.
///
/// A ``StreamMonitor`` is registered and started at the first row's time, takes every row, and
/// the windows it closes are scored by a ``BatchScorer`` in batches and applied back in row order,
/// so the per-sensor state machines and the maintenance policy see what they would live; after
/// the last row comes the post-cycle report (``report(model:values:times:previous:aborted:threads:)``).
public enum CycleEvaluator {
    /// Windows scored per forward pass: large enough to keep the threads busy, small enough that a
    /// file-long cycle does not hold all its windows at once.
    static let batch = 2048

    /// Replays one cycle.
    ///
    /// - Parameters:
    ///   - model: the model file (thresholds, and the reference cycle if it has one).
    ///   - values: `[rows, D]` raw values in the model's sensor order.
    ///   - times: row times in seconds, or nil to use the row index as seconds.
    ///   - threads: worker threads for the forward pass and the report.
    ///   - withReport: false to skip the post-cycle report (the rows' decisions do not need it).
    ///   - scorer: a scorer of `model` to reuse across cycles (making one allocates its workspace).
    public static func evaluate(model: ModelFile, values: [Float], rows: Int, times: [Double]?, threads: Int = 1,
                                withReport: Bool = true, scorer: BatchScorer? = nil) -> CycleOutcome {
        precondition(scorer == nil || (scorer!.model.sensors == model.sensors && scorer!.model.model.window == model.model.window),
                     "the scorer is of another model")
        let D = model.model.sensors
        precondition(rows >= 0 && values.count == rows * D, "values are not rows × the model's sensors")
        precondition(times == nil || times!.count == rows, "one time per row")
        let clock = times ?? (0..<rows).map(Double.init)
        var outcome = CycleOutcome(rows: rows, sensors: model.sensors, rowScores: [Float?](repeating: nil, count: rows),
                                   sensorScores: [Float](repeating: 0, count: rows * D), flags: [Bool](repeating: false, count: rows),
                                   events: [], report: nil, score: 0, flagged: false)
        var monitor = StreamMonitor(stream: "evaluate", model: model)
        let start = clock.first ?? 0
        _ = try? monitor.handle(.register, at: start)
        _ = try? monitor.handle(.start, at: start)
        let scorer = scorer ?? BatchScorer(model: model, threads: threads)
        var pending: [PendingWindow] = []
        pending.reserveCapacity(batch)
        func flush() {
            for result in scorer.score(pending) {
                let r = result.endRow
                outcome.rowScores[r] = result.sensorScores.max() ?? 0
                for j in 0..<D { outcome.sensorScores[r * D + j] = result.sensorScores[j] }
                outcome.flags[r] = result.windowAnomalous || result.sensorScores.contains { $0 > 1 }
                for output in monitor.apply(result) {
                    let (kind, e): (CycleEvent.Kind, MaintenanceEvent)
                    switch output {
                    case .eventOpened(let event): (kind, e) = (.opened, event)
                    case .eventEscalated(let event): (kind, e) = (.escalated, event)
                    default: continue
                    }
                    outcome.events.append(CycleEvent(kind: kind, row: r, time: result.endTime, sensor: e.sensor, severity: e.severity,
                                                     reason: e.reason, topSensors: e.topSensors.map(\.sensor)))
                }
            }
            pending.removeAll(keepingCapacity: true)
        }
        for r in 0..<rows {
            if let w = monitor.ingest(Array(values[(r * D)..<((r + 1) * D)]), at: clock[r]).window { pending.append(w) }
            if pending.count >= batch { flush() }
        }
        flush()
        if withReport { outcome.report = report(model: model, values: values, times: clock, threads: threads) }
        outcome.score = cycleScore(outcome, times: clock)
        outcome.flagged = !outcome.events.isEmpty || (outcome.report.map { $0.severity != .normal } ?? false)
        return outcome
    }

    /// The post-cycle report of a finished cycle, as the server makes it when a cycle stops.
    ///
    /// - Parameters:
    ///   - values: `[rows, D]` raw values in the model's sensor order; `times` one per row.
    ///   - previous: the previous cycle `[p, D]`, for the distances to it.
    /// - Returns: nil when the model has no reference cycle or the cycle has fewer than 2 rows.
    public static func report(model: ModelFile, values: [Float], times: [Double], previous: [Float]? = nil,
                              aborted: Bool = false, threads: Int = 2) -> CycleReport? {
        guard times.count >= 2,
              let input = CycleReportInput(model: model, values: values, times: times, previous: previous, aborted: aborted)
        else { return nil }
        return CycleReport.make(input, threads: threads)
    }

    /// One number per cycle, higher = more anomalous, 1 where the calibrated model starts to
    /// raise something: the larger of
    /// - the live part: the smallest factor on every threshold at which the sensor state machines
    ///   and the maintenance policy would open no event on the cycle (``EventScale``; above 1 an
    ///   event opened), and
    /// - the report's largest ratio: a sensor's whole-cycle deviation ρ or the length ratio λ
    ///   (above 1 the report says warning or worse).
    public static func cycleScore(_ outcome: CycleOutcome, times: [Double]) -> Double {
        let D = outcome.sensors.count
        let windows = outcome.rowScores.indices.filter { outcome.rowScores[$0] != nil }
        var live: Float = 0
        if !windows.isEmpty {
            var scores = [Float]()
            scores.reserveCapacity(windows.count * D)
            for w in windows { scores += outcome.sensorScores[(w * D)..<((w + 1) * D)] }
            live = EventScale.required(windows: scores, sensors: D, times: windows.map { times[$0] })
        }
        let ratio = max(outcome.report?.sensors.map(\.ratio).max() ?? 0, outcome.report?.lengthRatio ?? 0)
        return max(Double(live), ratio)
    }
}
