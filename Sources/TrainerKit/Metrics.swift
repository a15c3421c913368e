import Foundation

/// Point-wise detection counts and the SKAB leaderboard's outlier metrics.
public struct Confusion: Sendable, Equatable, Codable {
    public var tp = 0, fp = 0, fn = 0, tn = 0

    public init(tp: Int = 0, fp: Int = 0, fn: Int = 0, tn: Int = 0) {
        (self.tp, self.fp, self.fn, self.tn) = (tp, fp, fn, tn)
    }

    /// Counts over paired labels and predictions (0/1).
    public init(labels: [Float], predictions: [Float]) {
        precondition(labels.count == predictions.count, "labels and predictions differ in length")
        for (l, p) in zip(labels, predictions) {
            switch (l > 0.5, p > 0.5) {
            case (true, true): tp += 1
            case (false, true): fp += 1
            case (true, false): fn += 1
            case (false, false): tn += 1
            }
        }
    }

    public static func + (a: Confusion, b: Confusion) -> Confusion {
        Confusion(tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn)
    }

    public var precision: Double { tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp) }
    public var recall: Double { tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn) }
    /// F1 = TP / (TP + (FP + FN)/2).
    public var f1: Double { tp == 0 ? 0 : Double(tp) / (Double(tp) + Double(fp + fn) / 2) }
    /// F1 of the other class (normal as the positive one): TN / (TN + (FN + FP)/2).
    public var negativeF1: Double { tn == 0 ? 0 : Double(tn) / (Double(tn) + Double(fp + fn) / 2) }
    /// Macro F1: the mean of both classes' F1, as the screw-driving study reports it.
    public var macroF1: Double { (f1 + negativeF1) / 2 }
    /// Share of correct decisions.
    public var accuracy: Double { tp + fp + fn + tn == 0 ? 0 : Double(tp + tn) / Double(tp + fp + fn + tn) }
    /// False alarm rate, FP / (FP + TN) · 100.
    public var far: Double { fp + tn == 0 ? 0 : 100 * Double(fp) / Double(fp + tn) }
    /// Missing alarm rate, FN / (FN + TP) · 100.
    public var mar: Double { fn + tp == 0 ? 0 : 100 * Double(fn) / Double(fn + tp) }
}

/// Ranking quality of a score, whatever its threshold.
public enum ROC {
    /// The area under the ROC curve: the probability that a random positive scores above a random
    /// negative, ties counting half — the Mann–Whitney U statistic over n₊·n₋, with average ranks
    /// for tied scores.
    ///
    /// - Parameters:
    ///   - scores: higher is more anomalous; none may be NaN.
    ///   - labels: true for the positive (anomalous) class, one per score.
    /// - Returns: the AUC in 0…1, or nil when either class is empty.
    public static func auc(scores: [Double], labels: [Bool]) -> Double? {
        precondition(scores.count == labels.count, "scores and labels differ in length")
        precondition(!scores.contains(where: \.isNaN), "a NaN score has no rank")
        let positives = labels.count(where: { $0 }), negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Ranks 1…n; a run of equal scores shares the mean of its ranks.
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && scores[order[end]] == scores[order[start]] { end += 1 }
            let rank = Double(start + 1 + end) / 2
            for k in start..<end where labels[order[k]] { rankSum += rank }
            start = end
        }
        let u = rankSum - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }
}

/// The NAB-style changepoint score of the SKAB leaderboard.
///
/// Every true changepoint gets a window of `windowSeconds` to its right. Predicted changepoints
/// are the rising and falling edges of the outlier prediction. In each window only the first
/// prediction counts, scored `(A_tp − A_fp) · 1/(1 + e^{5y}) + A_fp` with y = (t − window end) /
/// window length ∈ [−1, 0]; a window without one scores A_fn; each prediction outside every
/// window scores A_fp. Normalised as 100 · (S − S_null) / (S_perfect − S_null), with S_null the
/// score of predicting nothing and S_perfect that of predicting every window's first instant.
public struct NABScore: Sendable {
    public struct Profile: Sendable {
        public let name: String
        public let tp: Double, fp: Double, fn: Double
        public static let standard = Profile(name: "Standard", tp: 1, fp: -0.11, fn: -1)
        public static let lowFP = Profile(name: "LowFP", tp: 1, fp: -0.22, fn: -1)
        public static let lowFN = Profile(name: "LowFN", tp: 1, fp: -0.11, fn: -2)
        public static let all = [standard, lowFP, lowFN]
    }

    /// Raw totals per profile, accumulated over files.
    public private(set) var score: [Double], null: [Double], perfect: [Double]
    public let windowSeconds: Double

    public init(windowSeconds: Double = 60) {
        self.windowSeconds = windowSeconds
        score = [0, 0, 0]; null = [0, 0, 0]; perfect = [0, 0, 0]
    }

    static func sigmoid(_ y: Double, _ p: Profile) -> Double { (p.tp - p.fp) / (1 + exp(5 * y)) + p.fp }

    /// Adds one file: row times (seconds), the changepoint labels and the outlier predictions.
    public mutating func add(times: [Double], changepoints: [Float], predictions: [Float]) {
        precondition(times.count == changepoints.count && times.count == predictions.count, "lengths differ")
        let windows = times.indices.filter { changepoints[$0] > 0.5 }.map { (times[$0], times[$0] + windowSeconds) }
        var predicted: [Double] = []
        for i in 1..<max(1, predictions.count) where (predictions[i] > 0.5) != (predictions[i - 1] > 0.5) {
            predicted.append(times[i])
        }
        for (k, p) in Profile.all.enumerated() {
            var s = 0.0
            var used = [Bool](repeating: false, count: windows.count)
            for t in predicted {
                if let w = windows.firstIndex(where: { t >= $0.0 && t <= $0.1 }) {
                    guard !used[w] else { continue }
                    used[w] = true
                    s += Self.sigmoid((t - windows[w].1) / windowSeconds, p)
                } else {
                    s += p.fp
                }
            }
            s += Double(used.filter { !$0 }.count) * p.fn
            score[k] += s
            null[k] += Double(windows.count) * p.fn
            perfect[k] += Double(windows.count) * Self.sigmoid(-1, p)
        }
    }

    /// Normalised scores (Standard, LowFP, LowFN).
    public var normalised: [Double] {
        (0..<3).map { k -> Double in
            let range: Double = perfect[k] - null[k]
            return range == 0 ? 0 : 100 * (score[k] - null[k]) / range
        }
    }
}
