import Foundation
import Testing
@testable import Model

@Suite struct OptimizerTests {
    @Test func adamMatchesHandComputation() {
        var params: [Float] = [1.0, -2.0]
        var adam = Adam(count: 2, learningRate: 0.1)
        // Step 1: m̂ = g and v̂ = g², so each parameter moves by lr·g/(|g|+ε) ≈ lr·sign(g).
        adam.update(&params, gradients: [0.5, -0.1])
        #expect(abs(params[0] - 0.9) < 1e-6)
        #expect(abs(params[1] - -1.9) < 1e-6)
        // Step 2 by hand: m = 0.9·m + 0.1·g, v = 0.999·v + 0.001·g², bias corrections 0.19 and 0.001999:
        // θ₀: m = 0.065, v = 0.00028975, m̂ = 0.342105, v̂ = 0.144947, step = 0.1·0.342105/0.380719 = 0.089858
        // θ₁: m = 0.021, v = 0.00009999, m̂ = 0.110526, v̂ = 0.050020, step = 0.1·0.110526/0.223652 = 0.049419
        adam.update(&params, gradients: [0.2, 0.3])
        #expect(abs(params[0] - 0.810142) < 2e-6)
        #expect(abs(params[1] - -1.949419) < 2e-6)
        #expect(adam.step == 2)
    }

    @Test func clippingScalesToTheGlobalNorm() {
        var g: [Float] = [3, 4]
        let norm = clipGlobalNorm(&g, count: 2, maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(g[0] - 0.6) < 1e-6 && abs(g[1] - 0.8) < 1e-6)
        var small: [Float] = [0.3, 0.4]
        #expect(clipGlobalNorm(&small, count: 2, maxNorm: 1) == 0.5)
        #expect(small == [0.3, 0.4])
    }

    /// Sine windows with a random phase per window and a phase offset per sensor, in [0.1, 0.9].
    static func sineWindows(_ n: Int, window: Int, sensors: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var data: [Float] = []
        for _ in 0..<n {
            let phase = rng.uniform(0, 2 * .pi)
            for t in 0..<window {
                for j in 0..<sensors { data.append(0.5 + 0.4 * sin(phase + 0.4 * Float(t) + Float(j))) }
            }
        }
        return data
    }

    @Test func seededRunOverfitsSmallSineSet() {
        let T = 12, D = 2, B = 16
        let data = Self.sineWindows(B, window: T, sensors: D, seed: 3)
        let trainer = AutoencoderTrainer(model: LSTMAutoencoder(window: T, sensors: D, hidden: 16, seed: 0),
                                         loss: .mse, learningRate: 0.01, maxBatch: B, threads: 1)
        let losses = data.withUnsafeBufferPointer { p in (0..<400).map { _ in trainer.step(p.baseAddress!, count: B) } }
        let first = losses[0], last = data.withUnsafeBufferPointer { trainer.evaluate($0.baseAddress!, count: B) }
        #expect(last * 10 < first, "loss fell from \(first) to \(last): less than 10×")
    }

    @Test func sameSeedSameRun() {
        let T = 6, D = 2, B = 8
        let data = Self.sineWindows(B, window: T, sensors: D, seed: 9)
        func run(seed: UInt64, threads: Int) -> [Double] {
            let t = AutoencoderTrainer(model: LSTMAutoencoder(window: T, sensors: D, hidden: 8, seed: seed),
                                       maxBatch: B, threads: threads)
            return data.withUnsafeBufferPointer { p in (0..<5).map { _ in t.step(p.baseAddress!, count: B) } }
        }
        #expect(run(seed: 1, threads: 1) == run(seed: 1, threads: 1))
        #expect(run(seed: 1, threads: 1) != run(seed: 2, threads: 1))
        // Data-parallel shards give the same trajectory up to the rounding of the gradient sum.
        for (a, b) in zip(run(seed: 1, threads: 1), run(seed: 1, threads: 2)) { #expect(abs(a - b) < 1e-5 * a) }
    }

    @Test func initialisationIsSeededAndBounded() {
        let a = LSTMAutoencoder(window: 4, sensors: 3, hidden: 16, seed: 5)
        #expect(a == LSTMAutoencoder(window: 4, sensors: 3, hidden: 16, seed: 5))
        #expect(a.parameters != LSTMAutoencoder(window: 4, sensors: 3, hidden: 16, seed: 6).parameters)
        #expect(a.parameters.allSatisfy { abs($0) <= 0.25 }) // U(−1/√H, 1/√H) with H = 16
        #expect(a.tensor("encoder/weight_ih_l0")?.shape == [64, 3])
        #expect(a.tensor("output/weight")?.shape == [3, 16])
        #expect(a.tensor("nope") == nil)
    }
}
