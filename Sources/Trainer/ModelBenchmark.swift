import Foundation
import Model

/// Figures of one benchmark run.
struct BenchmarkResult {
    var trainB32 = 0.0
    var trainB256 = 0.0
    var singleMedianMicros = 0.0
    var singleP99Micros = 0.0
    var batch256 = 0.0
}

/// One timed part of the benchmark.
enum BenchPart: String, CaseIterable {
    case train32, train256, single, batch256
}

/// Times training steps and scoring on synthetic sine-wave windows.
struct ModelBenchmark {
    let window: Int, sensors: Int, hidden: Int, threads: Int, repeats: Int

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Synthetic scaled windows: phase-shifted sines with a little noise, in [0, 1].
    func windows(_ n: Int) -> [Float] {
        var rng = SeededGenerator(seed: 42)
        var data = [Float](repeating: 0, count: n * window * sensors)
        for b in 0..<n {
            let phase = rng.uniform(0, 6.28)
            for t in 0..<window {
                for j in 0..<sensors {
                    let v = 0.5 + 0.4 * sin(phase + Float(t) * 0.2 + Float(j)) + rng.uniform(-0.02, 0.02)
                    data[(b * window + t) * sensors + j] = v
                }
            }
        }
        return data
    }

    func run(only: BenchPart? = nil, progress: (String) -> Void) -> BenchmarkResult {
        var result = BenchmarkResult()
        let model = LSTMAutoencoder(window: window, sensors: sensors, hidden: hidden, seed: 1)
        let data = windows(2048)
        func wanted(_ p: BenchPart) -> Bool { only == nil || only == p }
        if wanted(.train32) {
            progress("training, batch 32")
            result.trainB32 = trainRate(model, data, batch: 32)
        }
        if wanted(.train256) {
            progress("training, batch 256")
            result.trainB256 = trainRate(model, data, batch: 256)
        }
        if wanted(.single) {
            progress("scoring, one window")
            (result.singleMedianMicros, result.singleP99Micros) = singleLatency(model, data)
        }
        if wanted(.batch256) {
            progress("scoring, batch 256")
            result.batch256 = batchRate(model, data, batch: 256)
        }
        return result
    }

    private func trainRate(_ model: LSTMAutoencoder, _ data: [Float], batch: Int) -> Double {
        let trainer = AutoencoderTrainer(model: model, maxBatch: batch, threads: threads)
        let stride = window * sensors
        let batches = data.count / stride / batch
        let steps = max(8, 4096 / batch)
        return data.withUnsafeBufferPointer { p in
            for k in 0..<2 { trainer.step(p.baseAddress! + (k % batches) * batch * stride, count: batch) }
            let rates = (0..<repeats).map { _ in
                let t0 = now()
                for k in 0..<steps { trainer.step(p.baseAddress! + (k % batches) * batch * stride, count: batch) }
                return Double(steps * batch) / (Double(now() - t0) / 1e9)
            }
            return median(rates)
        }
    }

    private func singleLatency(_ model: LSTMAutoencoder, _ data: [Float]) -> (Double, Double) {
        let scorer = SingleWindowScorer(model: model)
        var errors = [Float](repeating: 0, count: sensors)
        let stride = window * sensors
        let n = data.count / stride
        var samples: [Double] = []
        samples.reserveCapacity(2000 * repeats)
        var sink: Float = 0
        data.withUnsafeBufferPointer { p in
            errors.withUnsafeMutableBufferPointer { e in
                for k in 0..<200 { sink += scorer.score(p.baseAddress! + (k % n) * stride, errors: e.baseAddress!) }
                for k in 0..<(2000 * repeats) {
                    let t0 = now()
                    sink += scorer.score(p.baseAddress! + (k % n) * stride, errors: e.baseAddress!)
                    samples.append(Double(now() - t0) / 1e3)
                }
            }
        }
        precondition(sink.isFinite, "non-finite score")
        samples.sort()
        return (samples[samples.count / 2], samples[Int(Double(samples.count) * 0.99)])
    }

    private func batchRate(_ model: LSTMAutoencoder, _ data: [Float], batch: Int) -> Double {
        let scorer = WindowScorer(model: model, threads: threads, chunk: (batch + threads - 1) / threads)
        let stride = window * sensors
        let batches = data.count / stride / batch
        var errors = [Float](repeating: 0, count: batch * sensors)
        var scores = [Float](repeating: 0, count: batch)
        let rounds = 16
        return data.withUnsafeBufferPointer { p in
            errors.withUnsafeMutableBufferPointer { e in
                scores.withUnsafeMutableBufferPointer { s in
                    scorer.score(p.baseAddress!, count: batch, errors: e.baseAddress!, scores: s.baseAddress!)
                    let rates = (0..<repeats).map { _ in
                        let t0 = now()
                        for k in 0..<rounds {
                            scorer.score(p.baseAddress! + (k % batches) * batch * stride, count: batch,
                                         errors: e.baseAddress!, scores: s.baseAddress!)
                        }
                        return Double(rounds * batch) / (Double(now() - t0) / 1e9)
                    }
                    return median(rates)
                }
            }
        }
    }
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
