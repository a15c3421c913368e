import Testing
@testable import Inference

@Suite struct BatchScorerTests {
    static func model(reference: Bool) -> ModelFile {
        let m = LSTMAutoencoder(window: 5, sensors: 2, hidden: 8, seed: 3)
        return ModelFile(model: m, sensors: ["a", "b"], scaler: try! MinMaxScaler(min: [0, 0], max: [1, 1]), loss: .mae,
                         calibration: Calibration(sensorThreshold: [0.2, 0.4], windowThreshold: 0.25, percentile: 99, method: "test"),
                         reference: reference ? ReferenceCycle(values: [Float](repeating: 0.5, count: 20), length: 10,
                                                               dtwThreshold: [0.01, 0.02], band: 3) : nil,
                         createdAt: "", trainerVersion: "")
    }

    @Test func oneBatchOverManyStreamsEqualsOneByOne() {
        let file = Self.model(reference: true)
        let scorer = BatchScorer(model: file, threads: 2)
        var rng = SeededGenerator(seed: 1)
        let windows = (0..<7).map { k in
            PendingWindow(stream: "s\(k % 3)", values: (0..<10).map { _ in rng.uniform(0, 1) }, startTime: Double(k),
                          endTime: Double(k) + 4, endRow: k + 4, dtwDeviation: [0.005 * Double(k), 0.01])
        }
        let batch = scorer.score(windows)
        #expect(batch.map(\.stream) == windows.map(\.stream))
        let single = SingleWindowScorer(model: file.model)
        for (w, r) in zip(windows, batch) {
            var e: [Float] = [0, 0]
            let s = w.values.withUnsafeBufferPointer { single.score($0.baseAddress!, errors: &e) }
            #expect(abs(r.score - s) < 1e-6 && abs(r.errors[0] - e[0]) < 1e-6 && abs(r.errors[1] - e[1]) < 1e-6)
            // Ratios against the calibrated thresholds; the sensor score is the larger one.
            #expect(abs(r.errorRatios[0] - e[0] / 0.2) < 1e-5 && abs(r.errorRatios[1] - e[1] / 0.4) < 1e-5)
            #expect(abs(r.dtwRatios[0] - Float(w.dtwDeviation![0] / 0.01)) < 1e-5 && abs(r.dtwRatios[1] - 0.5) < 1e-6)
            #expect(r.sensorScores == zip(r.errorRatios, r.dtwRatios).map { max($0, $1) })
            #expect(r.windowAnomalous == (r.score > 0.25))
        }
        #expect(scorer.score([]).isEmpty)
    }

    @Test func withoutReferenceDTWCountsForNothing() {
        let r = BatchScorer(model: Self.model(reference: false)).score([
            PendingWindow(stream: "x", values: [Float](repeating: 0.3, count: 10), startTime: 0, endTime: 4, endRow: 4, dtwDeviation: nil),
        ])[0]
        #expect(r.dtwRatios == [0, 0] && r.dtwDeviation == [0, 0])
        #expect(r.sensorScores == r.errorRatios)
    }
}
