import Foundation
import Testing
@testable import Model

@Suite struct NumericsTests {
    @Test func fastActivationsMatchLibm() {
        let xs = stride(from: Float(-30), through: 30, by: 0.0137).map { $0 }
        var sig = [Float](repeating: 0, count: xs.count), th = sig
        xs.withUnsafeBufferPointer { x in
            FastMath.sigmoid(x.baseAddress!, into: &sig, count: xs.count)
            FastMath.tanh(x.baseAddress!, into: &th, count: xs.count)
        }
        var worstSig = 0.0, worstTanh = 0.0
        for (k, x) in xs.enumerated() {
            let d = Double(x)
            worstSig = max(worstSig, abs(Double(sig[k]) - 1 / (1 + Foundation.exp(-d))))
            worstTanh = max(worstTanh, abs(Double(th[k]) - Foundation.tanh(d)))
        }
        #expect(worstSig < 3e-7, "sigmoid error \(worstSig)")
        #expect(worstTanh < 5e-7, "tanh error \(worstTanh)")
    }

    @Test func scalerFitsAndTransforms() throws {
        // Two sensors, the second constant; a NaN is ignored when fitting.
        let s = MinMaxScaler(fitting: [0, 5, 10, 5, .nan, 5, 5, 5], sensors: 2)
        #expect(s.min == [0, 5] && s.max == [10, 5])
        var v: [Float] = [5, 5, 20, 6]
        s.transform(&v)
        #expect(v == [0.5, 0, 2, 1]) // out of range is not clipped; constant sensor divides by 1
        #expect(s.inverse(0.5, sensor: 0) == 5)
        #expect(throws: ShapeError.self) { try MinMaxScaler(min: [0], max: [1, 2]) }
    }

    @Test func tensorChecksShapes() throws {
        var t = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(t[1, 2] == 5)
        t[0, 1] = 9
        #expect(t.scalars[1] == 9)
        #expect(throws: ShapeError.self) { try Tensor(shape: [2, 3], scalars: [1, 2]) }
        var m = LSTMAutoencoder(window: 2, sensors: 2, hidden: 3)
        #expect(throws: ShapeError.self) { try m.setTensor("output/bias", Tensor(zeros: [3])) }
        try m.setTensor("output/bias", Tensor(shape: [2], scalars: [7, 8]))
        #expect(m.tensor("output/bias")?.scalars == [7, 8])
    }

    @Test func windowErrorsFollowTheDefinition() {
        // e_j = mean_t |x̂ − x| for each window and sensor, score = mean_j e_j, computed here from
        // the reconstruction by hand and compared with the scorer.
        let T = 5, D = 3, B = 4
        let model = LSTMAutoencoder(window: T, sensors: D, hidden: 8, seed: 2)
        let x = randomValues(B * T * D, seed: 4, 0, 1).map { Float($0) }
        let core = AutoencoderCore<Float>(window: T, sensors: D, hidden: 8, capacity: B)
        model.parameters.withUnsafeBufferPointer { p in
            x.withUnsafeBufferPointer { core.forward(p.baseAddress!, windows: $0.baseAddress!, count: B) }
        }
        let (scores, errors) = WindowScorer(model: model, threads: 2, chunk: 2).score(x)
        for b in 0..<B {
            var sum: Float = 0
            for j in 0..<D {
                var e: Float = 0
                for t in 0..<T { e += abs(core.output[(t * B + b) * D + j] - x[(b * T + t) * D + j]) }
                e /= Float(T)
                #expect(abs(errors[b * D + j] - e) < 1e-6)
                sum += e
            }
            #expect(abs(scores[b] - sum / Float(D)) < 1e-6)
        }
    }
}
