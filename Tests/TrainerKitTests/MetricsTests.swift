import Foundation
import Model
import Testing
@testable import TrainerKit

@Suite struct MetricsTests {
    @Test func confusionAndRatesByHand() {
        // labels      1 1 1 0 0 0 0 1
        // predictions 1 0 1 1 0 0 0 0  → TP 2, FN 2, FP 1, TN 3
        let c = Confusion(labels: [1, 1, 1, 0, 0, 0, 0, 1], predictions: [1, 0, 1, 1, 0, 0, 0, 0])
        #expect(c == Confusion(tp: 2, fp: 1, fn: 2, tn: 3))
        #expect(abs(c.precision - 2.0 / 3) < 1e-12 && abs(c.recall - 0.5) < 1e-12)
        #expect(abs(c.f1 - 2.0 / (2 + 1.5)) < 1e-12)   // TP / (TP + (FP+FN)/2)
        #expect(abs(c.far - 25) < 1e-12 && abs(c.mar - 50) < 1e-12)
        #expect((c + c) == Confusion(tp: 4, fp: 2, fn: 4, tn: 6))
    }

    @Test func rocAUCByHand() throws {
        // Ranks 1 (0.1), 2 (0.35, positive), 3 (0.4), 4 (0.8, positive): U = 2 + 4 − 3 = 3 of 2 × 2 pairs.
        #expect(ROC.auc(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        #expect(ROC.auc(scores: [0.1, 0.2, 0.3], labels: [true, false, false]) == 0)
        #expect(ROC.auc(scores: [3, 1, 2], labels: [true, false, false]) == 1)
        // Ties share the mean rank: a tied positive–negative pair counts half.
        // [1, 1, 2, 2] → ranks 1.5, 1.5, 3.5, 3.5; positives 1.5 + 3.5 = 5, U = 5 − 3 = 2 of 4.
        #expect(ROC.auc(scores: [1, 1, 2, 2], labels: [false, true, false, true]) == 0.5)
        #expect(ROC.auc(scores: [5, 5, 5], labels: [false, true, true]) == 0.5)
        // [0.2 n, 0.5 p, 0.5 n, 0.9 p, 0.1 n]: pairs won by each positive: 0.5 beats 0.2, 0.1 and ties 0.5 → 2.5;
        // 0.9 beats all three → 3. AUC = 5.5 / 6.
        let auc = try #require(ROC.auc(scores: [0.2, 0.5, 0.5, 0.9, 0.1], labels: [false, true, false, true, false]))
        #expect(abs(auc - 5.5 / 6) < 1e-12)
        #expect(ROC.auc(scores: [1, 2], labels: [true, true]) == nil)
        #expect(ROC.auc(scores: [], labels: []) == nil)
    }

    @Test func macroF1ByHand() {
        // TP 2, FP 1, FN 2, TN 3: F1 of the positive class 2 / 3.5, of the negative class 3 / 4.5.
        let c = Confusion(tp: 2, fp: 1, fn: 2, tn: 3)
        #expect(abs(c.negativeF1 - 3 / 4.5) < 1e-12)
        #expect(abs(c.macroF1 - (2 / 3.5 + 3 / 4.5) / 2) < 1e-12)
        #expect(abs(c.accuracy - 5.0 / 8) < 1e-12)
        #expect(Confusion(tp: 0, fp: 0, fn: 0, tn: 4).macroF1 == 0.5) // everything normal, predicted normal
    }

    @Test func percentileInterpolatesLikeNumpy() {
        #expect(Percentile.of([1, 2, 3, 4], 50) == 2.5)
        #expect(Percentile.of([10, 0, 5], 100) == 10)
        #expect(abs(Percentile.of((1...100).map(Float.init), 99) - 99.01) < 1e-4)
    }

    /// Selection gives exactly what sorting gives, with duplicates, ties at the rank and runs of
    /// equal values (quantised sensors), at every percentile.
    @Test func percentileBySelectionEqualsSorting() {
        var rng = SeededGenerator(seed: 7)
        for trial in 0..<200 {
            let n = 1 + Int(rng.next() % 600)
            let levels = trial % 3 == 0 ? 4 : 1_000_000
            let v = (0..<n).map { _ in Float(rng.next() % UInt64(levels)) / 7 }
            let sorted = v.sorted()
            for p in [0.0, 1, 5, 50, 80, 95, 99, 99.9, 100] {
                let pos = p / 100 * Double(n - 1)
                let lo = Int(pos.rounded(.down)), hi = min(lo + 1, n - 1)
                let expected = sorted[lo] + (sorted[hi] - sorted[lo]) * Float(pos - Double(lo))
                #expect(Percentile.of(v, p) == expected, "n \(n), p \(p)")
            }
        }
    }

    @Test func nabScoresByHand() {
        let times = (0..<200).map(Double.init)
        var cps = [Float](repeating: 0, count: 200)
        cps[50] = 1; cps[150] = 1
        // Perfect: edges exactly at both changepoints.
        var perfect = NABScore()
        var p = [Float](repeating: 0, count: 200)
        for i in 50..<150 { p[i] = 1 }
        perfect.add(times: times, changepoints: cps, predictions: p)
        #expect(perfect.normalised.allSatisfy { abs($0 - 100) < 1e-9 })
        // Nothing predicted: the null score.
        var none = NABScore()
        none.add(times: times, changepoints: cps, predictions: [Float](repeating: 0, count: 200))
        #expect(none.normalised == [0, 0, 0])
        // One edge at the end of the first window (y = 0: half way between A_tp and A_fp) and one false edge.
        var late = NABScore()
        var q = [Float](repeating: 0, count: 200)
        for i in 110..<200 { q[i] = 1 }   // rising edge at 110 = 50 + 60: window end; no falling edge
        q[30] = 1                          // a blip: rising at 30 and falling at 31, both outside any window
        late.add(times: times, changepoints: cps, predictions: q)
        let s = 0.5 * (1 + 0.11) - 0.11 + 2 * -0.11 + -1   // hit at y = 0, two FPs, one missed window
        let expected = 100 * (s - -2) / (2 * ((1.11) / (1 + exp(-5.0)) - 0.11) - -2)
        #expect(abs(late.normalised[0] - expected) < 1e-9)
    }

    @Test func sha256KnownVectors() {
        var a = SHA256Digest()
        #expect(a.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var b = SHA256Digest()
        b.update(Array("abc".utf8))
        #expect(b.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var c = SHA256Digest()
        for chunk in stride(from: 0, to: 1000, by: 7) { c.update([UInt8](repeating: 0x61, count: min(7, 1000 - chunk))) }
        var d = SHA256Digest()
        d.update([UInt8](repeating: 0x61, count: 1000))
        #expect(c.finalize() == d.finalize()) // chunking does not change the digest
    }
}
