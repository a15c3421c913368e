import Foundation

/// One cycle of an evaluation, as `vertac-train evaluate --cycles` writes it.
public struct CycleRecord: Sendable, Equatable {
    public var file: String
    public var cycleID: String
    public var rows: Int
    public var score: Double
    /// The report's health score (0–100), or nil without a report.
    public var health: Double?
    public var flagged: Bool
    /// Whether any row is labelled anomalous; nil when the file has no `anomaly` column.
    public var anomalous: Bool?
    /// Maintenance events opened or escalated during the cycle.
    public var events: Int

    /// The cycle id of a file that is one cycle: its name without folders and `.csv` / `.csv.gz`.
    public static func fileCycleID(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        for suffix in [".csv.gz", ".csv"] where name.lowercased().hasSuffix(suffix) && name.count > suffix.count {
            return String(name.dropLast(suffix.count))
        }
        return name
    }
}

/// Detection quality over the cycles of an evaluation: at row level the ranking of row scores,
/// at cycle level the decisions (`flagged`) and the ranking of cycle scores against labels (a
/// cycle is anomalous when any of its rows is). Cycles of files without labels are kept but
/// counted in no metric.
public struct EvaluationSummary: Sendable {
    public private(set) var cycles: [CycleRecord] = []
    private var rowScores: [Double] = [], rowLabels: [Bool] = []

    public init() {}

    /// Adds one evaluated cycle.
    ///
    /// - Parameters:
    ///   - labels: the cycle's per-row anomaly labels (0/1), or nil when the file has none.
    public mutating func add(_ outcome: CycleOutcome, file: String, cycleID: String, labels: [Float]?) {
        precondition(labels == nil || labels!.count == outcome.rows, "one label per row")
        if let labels {
            for (score, label) in zip(outcome.rowScores, labels) {
                guard let score else { continue }
                rowScores.append(Double(score))
                rowLabels.append(label > 0.5)
            }
        }
        cycles.append(CycleRecord(file: file, cycleID: cycleID, rows: outcome.rows, score: outcome.score, health: outcome.health,
                                  flagged: outcome.flagged, anomalous: labels.map { $0.contains { $0 > 0.5 } }, events: outcome.events.count))
    }

    /// Cycles with labels.
    public var labelled: [CycleRecord] { cycles.filter { $0.anomalous != nil } }

    /// ROC AUC of the row scores against the row labels (rows that end no window left out), or
    /// nil when the scored rows hold one class only.
    public var rowAUC: Double? { ROC.auc(scores: rowScores, labels: rowLabels) }
    /// Rows that entered ``rowAUC``.
    public var scoredRows: Int { rowScores.count }

    /// `flagged` against the cycle labels, the anomalous class positive.
    public var cycleConfusion: Confusion {
        let l = labelled
        return Confusion(labels: l.map { $0.anomalous! ? 1 : 0 }, predictions: l.map { $0.flagged ? 1 : 0 })
    }

    /// ROC AUC of the cycle scores against the cycle labels, or nil with one class only.
    public var cycleAUC: Double? {
        let l = labelled
        return ROC.auc(scores: l.map(\.score), labels: l.map { $0.anomalous! })
    }

    /// Events raised in cycles labelled normal, and those cycles.
    public var normalCycleEvents: (events: Int, cycles: Int) {
        let normal = labelled.filter { $0.anomalous == false }
        return (normal.reduce(0) { $0 + $1.events }, normal.count)
    }
}
