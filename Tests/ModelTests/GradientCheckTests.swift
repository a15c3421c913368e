import Testing
@testable import Model

/// Central finite differences in float64 against the analytic backward pass.
@Suite struct GradientCheckTests {
    static let eps = 1e-6

    /// |fd − analytic| ≤ 1e-7 + 1e-5·|analytic| for every entry.
    func expectClose(_ analytic: [Double], _ numeric: [Double], _ what: String) {
        #expect(analytic.count == numeric.count)
        var worst = 0.0, worstIndex = -1
        for (k, (a, n)) in zip(analytic, numeric).enumerated() {
            let excess = abs(a - n) - (1e-7 + 1e-5 * abs(a))
            if excess > worst { worst = excess; worstIndex = k }
        }
        #expect(worstIndex == -1, "\(what): gradient mismatch at \(worstIndex): analytic \(worstIndex >= 0 ? analytic[worstIndex] : 0) numeric \(worstIndex >= 0 ? numeric[worstIndex] : 0)")
        // A gradient that is identically zero would pass trivially; these are not.
        #expect(analytic.contains { abs($0) > 1e-6 }, "\(what): gradient is all zeros")
    }

    /// Numeric gradient of `f` w.r.t. `values` by central differences; `set` installs values.
    func numericGradient(_ values: [Double], set: ([Double]) -> Void, _ f: () -> Double) -> [Double] {
        var v = values
        let g = (0..<v.count).map { k in
            let saved = v[k]
            v[k] = saved + Self.eps
            set(v)
            let up = f()
            v[k] = saved - Self.eps
            set(v)
            let down = f()
            v[k] = saved
            return (up - down) / (2 * Self.eps)
        }
        set(values)
        return g
    }

    @Test func lstmLayerGradients() {
        let In = 3, H = 4, T = 5, B = 2
        let layer = LSTMLayer<Double>(inputSize: In, hiddenSize: H, steps: T, capacity: B)
        layer.weightIH = randomValues(4 * H * In, seed: 1, -0.6, 0.6)
        layer.weightHH = randomValues(4 * H * H, seed: 2, -0.6, 0.6)
        layer.biasIH = randomValues(4 * H, seed: 3, -0.3, 0.3)
        layer.biasHH = randomValues(4 * H, seed: 4, -0.3, 0.3)
        var x = randomValues(B * T * In, seed: 5)
        var h0 = randomValues(B * H, seed: 6, -0.5, 0.5)
        var c0 = randomValues(B * H, seed: 7, -0.5, 0.5)
        let (x1, h1, c1) = (x, h0, c0)
        let r = randomValues(B * T * H, seed: 8)
        func loss() -> Double {
            let out = layer.forward(x, h0: h0, c0: c0).output
            return zip(out, r).reduce(0) { $0 + $1.0 * $1.1 }
        }
        _ = layer.forward(x, h0: h0, c0: c0)
        layer.backward(r)
        let analytic = (layer.gradWeightIH, layer.gradWeightHH, layer.gradBiasIH, layer.gradBiasHH,
                        layer.gradInput, layer.gradH0, layer.gradC0)
        expectClose(analytic.0, numericGradient(layer.weightIH, set: { layer.weightIH = $0 }, loss), "weight_ih")
        expectClose(analytic.1, numericGradient(layer.weightHH, set: { layer.weightHH = $0 }, loss), "weight_hh")
        expectClose(analytic.2, numericGradient(layer.biasIH, set: { layer.biasIH = $0 }, loss), "bias_ih")
        expectClose(analytic.3, numericGradient(layer.biasHH, set: { layer.biasHH = $0 }, loss), "bias_hh")
        expectClose(analytic.4, numericGradient(x1, set: { x = $0 }, loss), "input")
        expectClose(analytic.5, numericGradient(h1, set: { h0 = $0 }, loss), "h0")
        expectClose(analytic.6, numericGradient(c1, set: { c0 = $0 }, loss), "c0")
    }

    @Test(arguments: Loss.allCases)
    func autoencoderGradients(loss: Loss) {
        let T = 4, D = 3, H = 4, B = 3
        let layout = ParameterLayout(sensors: D, hidden: H)
        var params = randomValues(layout.count, seed: 21, -0.5, 0.5)
        var x = randomValues(B * T * D, seed: 22, 0, 1)
        let core = AutoencoderCore<Double>(window: T, sensors: D, hidden: H, capacity: B)
        let total = B * T * D
        func meanLoss() -> Double {
            params.withUnsafeBufferPointer { p in
                x.withUnsafeBufferPointer { xs in
                    core.forward(p.baseAddress!, windows: xs.baseAddress!, count: B)
                    return core.loss(loss, total: total) / Double(total)
                }
            }
        }
        var grads = [Double](repeating: 0, count: layout.count)
        var dInput = [Double]()
        params.withUnsafeBufferPointer { p in
            x.withUnsafeBufferPointer { xs in
                grads.withUnsafeMutableBufferPointer { g in
                    core.forward(p.baseAddress!, windows: xs.baseAddress!, count: B)
                    _ = core.loss(loss, total: total)
                    core.backward(p.baseAddress!, grads: g.baseAddress!, inputGradient: true)
                    dInput = Array(UnsafeBufferPointer(start: core.dInput.pointer, count: total))
                }
            }
        }
        let (p0, x0) = (params, x)
        let numeric = numericGradient(p0, set: { params = $0 }, meanLoss)
        for e in layout.entries {
            let range = e.offset..<e.offset + e.count
            expectClose(Array(grads[range]), Array(numeric[range]), "\(loss) \(e.name)")
        }
        expectClose(dInput, numericGradient(x0, set: { x = $0 }, meanLoss), "\(loss) input")
    }
}

@Suite struct DenseTests {
    @Test func denseForwardAndGradients() {
        let In = 3, Out = 2, rows = 4
        var layer = Dense<Double>(inputSize: In, outputSize: Out, weight: randomValues(In * Out, seed: 31), bias: [0.5, -0.25])
        // Forward by hand for the first row.
        let x = randomValues(rows * In, seed: 32)
        let y = layer.forward(x)
        for k in 0..<Out {
            let expected = layer.bias[k] + (0..<In).reduce(0.0) { $0 + x[$1] * layer.weight[k * In + $1] }
            #expect(abs(y[k] - expected) < 1e-12)
        }
        // Gradients of L = Σ y ⊙ r by central differences.
        let r = randomValues(rows * Out, seed: 33)
        let g = layer.backward(r, x: x)
        func loss(_ l: Dense<Double>, _ x: [Double]) -> Double { zip(l.forward(x), r).reduce(0) { $0 + $1.0 * $1.1 } }
        let eps = 1e-6
        for k in 0..<layer.weight.count {
            var up = layer, down = layer
            up.weight[k] += eps; down.weight[k] -= eps
            #expect(abs((loss(up, x) - loss(down, x)) / (2 * eps) - g.weight[k]) < 1e-7)
        }
        for k in 0..<Out {
            var up = layer, down = layer
            up.bias[k] += eps; down.bias[k] -= eps
            #expect(abs((loss(up, x) - loss(down, x)) / (2 * eps) - g.bias[k]) < 1e-7)
        }
        for k in 0..<x.count {
            var xu = x, xd = x
            xu[k] += eps; xd[k] -= eps
            #expect(abs((loss(layer, xu) - loss(layer, xd)) / (2 * eps) - g.input[k]) < 1e-7)
        }
        layer.bias = [0, 0]
        #expect(layer.forward([0, 0, 0]) == [0, 0])
    }
}
