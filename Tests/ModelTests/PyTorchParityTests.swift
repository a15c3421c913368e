import Testing
@testable import Model

/// Checks against fixtures produced by PyTorch (scripts/fixtures/make_lstm_fixtures.py).
@Suite struct PyTorchParityTests {
    static let tolerance = 1e-4

    @Test func lstmLayerMatchesTorch() throws {
        let fx = try FixtureFile("lstm_layer.h5")
        let wih = try fx.shape("weight_ih_l0")
        let H = wih[0] / 4, In = wih[1]
        let xShape = try fx.shape("input")
        let (B, T) = (xShape[0], xShape[1])
        for precision in ["float64", "float32"] {
            func run<S: BLASScalar>(_: S.Type) throws -> [String: Double] {
                let layer = LSTMLayer<S>(inputSize: In, hiddenSize: H, steps: T, capacity: B)
                layer.weightIH = try fx.doubles("weight_ih_l0").map { S($0) }
                layer.weightHH = try fx.doubles("weight_hh_l0").map { S($0) }
                layer.biasIH = try fx.doubles("bias_ih_l0").map { S($0) }
                layer.biasHH = try fx.doubles("bias_hh_l0").map { S($0) }
                let out = layer.forward(try fx.doubles("input").map { S($0) },
                                        h0: try fx.doubles("h0").map { S($0) }, c0: try fx.doubles("c0").map { S($0) })
                layer.backward(try fx.doubles("output_weights").map { S($0) })
                return [
                    "output": relativeError(out.output, try fx.doubles("output")),
                    "h_T": relativeError(out.hT, try fx.doubles("h_T")),
                    "c_T": relativeError(out.cT, try fx.doubles("c_T")),
                    "grad input": relativeError(layer.gradInput, try fx.doubles("grad/input")),
                    "grad h0": relativeError(layer.gradH0, try fx.doubles("grad/h0")),
                    "grad c0": relativeError(layer.gradC0, try fx.doubles("grad/c0")),
                    "grad weight_ih": relativeError(layer.gradWeightIH, try fx.doubles("grad/weight_ih_l0")),
                    "grad weight_hh": relativeError(layer.gradWeightHH, try fx.doubles("grad/weight_hh_l0")),
                    "grad bias_ih": relativeError(layer.gradBiasIH, try fx.doubles("grad/bias_ih_l0")),
                    "grad bias_hh": relativeError(layer.gradBiasHH, try fx.doubles("grad/bias_hh_l0")),
                ]
            }
            let errors = precision == "float64" ? try run(Double.self) : try run(Float.self)
            let limit = precision == "float64" ? 1e-10 : Self.tolerance
            for (name, err) in errors {
                #expect(err <= limit, "\(precision) \(name): relative error \(err)")
            }
        }
    }

    @Test func autoencoderMatchesTorch() throws {
        // Our reader loads the h5py-written model file, checking every name and shape.
        let file = try ModelFile.read(from: fixturePath("autoencoder.h5"))
        #expect(file.sensors == ["pressure", "flow", "temperature °C"])
        #expect(file.model.window == 7 && file.model.hidden == 5 && file.model.sensors == 3)
        #expect(file.reference?.length == 12)
        #expect(file.calibration.windowThreshold == 0.25)
        #expect(file.training.epochs == 3 && file.training.loss == [0.5, 0.25, 0.125])

        let fx = try FixtureFile("autoencoder.h5")
        let xShape = try fx.shape("fixture/input")
        let B = xShape[0], T = file.model.window, D = file.model.sensors
        let x = try fx.doubles("fixture/input").map { Float($0) }
        let core = AutoencoderCore<Float>(window: T, sensors: D, hidden: file.model.hidden, capacity: B)
        let total = B * T * D

        for loss in Loss.allCases {
            var grads = [Float](repeating: 0, count: file.model.parameters.count)
            var reconstruction = [Float](repeating: 0, count: total)
            var errors = [Float](repeating: 0, count: B * D)
            var meanLoss = 0.0
            var dInput = [Float]()
            file.model.parameters.withUnsafeBufferPointer { p in
                x.withUnsafeBufferPointer { xs in
                    core.forward(p.baseAddress!, windows: xs.baseAddress!, count: B)
                    meanLoss = core.loss(loss, total: total) / Double(total)
                    core.backward(p.baseAddress!, grads: &grads, inputGradient: true)
                    core.windowErrors(into: &errors)
                    for b in 0..<B { for t in 0..<T { for j in 0..<D {
                        reconstruction[(b * T + t) * D + j] = core.output[(t * B + b) * D + j]
                    } } }
                    dInput = Array(UnsafeBufferPointer(start: core.dInput.pointer, count: total))
                }
            }
            #expect(relativeError(reconstruction, try fx.doubles("fixture/reconstruction")) <= Self.tolerance)
            #expect(relativeError(errors, try fx.doubles("fixture/window_errors")) <= Self.tolerance)
            #expect(relativeError([meanLoss], try fx.doubles("fixture/loss_\(loss)")) <= Self.tolerance)
            #expect(relativeError(dInput, try fx.doubles("fixture/grad_\(loss)/input")) <= Self.tolerance, "\(loss) input grad")
            for e in file.model.layout.entries {
                let g = Array(grads[e.offset..<e.offset + e.count])
                let err = relativeError(g, try fx.doubles("fixture/grad_\(loss)/\(e.name)"))
                #expect(err <= Self.tolerance, "\(loss) \(e.name): relative error \(err)")
            }
        }
    }

    @Test func scorersMatchTorchWindowErrors() throws {
        let file = try ModelFile.read(from: fixturePath("autoencoder.h5"))
        let fx = try FixtureFile("autoencoder.h5")
        let x = try fx.doubles("fixture/input").map { Float($0) }
        let expected = try fx.doubles("fixture/window_errors")
        let D = file.model.sensors, stride = file.model.window * D
        let batched = WindowScorer(model: file.model, threads: 2, chunk: 3).score(x)
        #expect(relativeError(batched.errors, expected) <= Self.tolerance)
        for b in 0..<(x.count / stride) {
            #expect(abs(Double(batched.scores[b]) - expected[b * D..<(b + 1) * D].reduce(0, +) / Double(D)) < 1e-5)
        }
        let single = SingleWindowScorer(model: file.model)
        var errors = [Float](repeating: 0, count: D)
        for b in 0..<(x.count / stride) {
            let s = x.withUnsafeBufferPointer { single.score($0.baseAddress! + b * stride, errors: &errors) }
            #expect(relativeError(errors, Array(expected[b * D..<(b + 1) * D])) <= Self.tolerance)
            #expect(abs(s - batched.scores[b]) <= 1e-6 * max(1, abs(s)))
        }
    }
}
