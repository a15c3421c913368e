import Testing
@testable import Inference

/// Open-end DTW from scratch: the full banded matrix for the first `rows` rows, then the minimum
/// of its last row — the definition the incremental form must reproduce.
func openEndFromScratch(_ query: [Float], _ ref: [Float], rows: Int, window: Int) -> Double {
    let m = ref.count
    var D = [[Double]](repeating: [Double](repeating: .infinity, count: m), count: rows)
    func allowed(_ i: Int, _ j: Int) -> Bool {
        let lo = min(max(0, i - window + 1), m - 1), hi = max(lo, min(m - 1, i + window - 1))
        return j >= lo && j <= hi
    }
    for i in 0..<rows {
        for j in 0..<m where allowed(i, j) {
            let c = (Double(query[i]) - Double(ref[j])) * (Double(query[i]) - Double(ref[j]))
            var best = Double.infinity
            if i == 0 && j == 0 { best = 0 }
            if j > 0 { best = min(best, D[i][j - 1]) }
            if i > 0 { best = min(best, D[i - 1][j]) }
            if i > 0 && j > 0 { best = min(best, D[i - 1][j - 1]) }
            D[i][j] = c + best
        }
    }
    return D[rows - 1].min()!
}

@Suite struct StreamingTests {
    @Test func incrementalOpenEndDTWEqualsFromScratch() {
        var rng = SeededGenerator(seed: 3)
        for (m, n, w) in [(40, 55, 6), (50, 30, 1), (25, 25, 40), (12, 60, 4)] {
            let ref = (0..<m).map { _ in rng.uniform(0, 1) }
            // Two sensors: the second is the first shifted, so both columns are exercised.
            let q0 = (0..<n).map { _ in rng.uniform(0, 1) }, q1 = q0.map { $0 * 0.5 + 0.2 }
            var live = OpenEndDTW(reference: zip(ref, ref.map { $0 * 0.5 + 0.1 }).flatMap { [$0, $1] }, sensors: 2, window: w)
            var previous = [0.0, 0.0]
            for i in 0..<n {
                live.append([q0[i], q1[i]])
                let expected0 = openEndFromScratch(q0, ref, rows: i + 1, window: w)
                let expected1 = openEndFromScratch(q1, ref.map { $0 * 0.5 + 0.1 }, rows: i + 1, window: w)
                #expect(abs(live.cost[0] - expected0) <= 1e-9 * max(1, expected0), "m=\(m) n=\(n) w=\(w) row \(i)")
                #expect(abs(live.cost[1] - expected1) <= 1e-9 * max(1, expected1))
                #expect(live.cost[0] >= previous[0] - 1e-12) // the open-end cost never decreases
                previous = live.cost
            }
            live.reset()
            live.append([ref[0], ref[0] * 0.5 + 0.1])
            #expect(live.cost == [0, 0]) // a reset starts a fresh alignment
        }
    }

    @Test func windowsEveryStrideInsideOneCycle() {
        var w = StreamWindower(window: 4, stride: 2, sensors: 1)
        var ready: [Int] = []
        for r in 0..<10 where w.append([Float(r)], time: Double(r)) { ready.append(r) }
        #expect(ready == [3, 5, 7, 9])
        #expect(w.currentWindow() == [6, 7, 8, 9])
        #expect(w.windowStartTime == 6)
        w.reset()
        // After a cycle boundary nothing is ready until T rows of the new cycle exist.
        let early = [w.append([100], time: 10), w.append([101], time: 11), w.append([102], time: 12)]
        #expect(early == [false, false, false])
        let fourth = w.append([103], time: 13)
        #expect(fourth)
        #expect(w.currentWindow() == [100, 101, 102, 103])
    }

    @Test func featuresMatchHandComputation() {
        let f = WindowFeatures([1, -3, 2, 0])
        #expect(abs(f.rms - (14.0 / 4).squareRoot()) < 1e-6)
        #expect(f.peak == 3 && f.min == -3 && f.max == 2 && f.mean == 0)
        #expect(abs(f.crestFactor - 3 / Float((14.0 / 4).squareRoot())) < 1e-6)
        // m2 = 14/4 = 3.5, m4 = (1 + 81 + 16 + 0)/4 = 24.5, kurtosis = 24.5 / 12.25 = 2
        #expect(abs(f.kurtosis - 2) < 1e-6)
        let perSensor = WindowFeatures.perSensor([1, 10, -3, 10, 2, 10, 0, 10], sensors: 2)
        #expect(perSensor[0] == f)
        #expect(perSensor[1].kurtosis == 0 && perSensor[1].crestFactor == 1)
    }
}
