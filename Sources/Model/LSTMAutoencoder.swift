/// An LSTM autoencoder: its architecture and its parameters (DESIGN.md, "The model").
///
/// Parameters live in one flat vector (``parameters``) described by ``layout``; ``tensor(_:)``
/// gives any of them by its model-file name with its PyTorch shape.
public struct LSTMAutoencoder: Sendable, Equatable {
    /// Steps per window, T.
    public let window: Int
    /// Sensors per step, D.
    public let sensors: Int
    /// LSTM hidden units, H.
    public let hidden: Int
    /// Where each tensor lies in ``parameters``.
    public let layout: ParameterLayout
    /// All parameters, flat.
    public var parameters: [Float]

    /// A freshly initialised autoencoder.
    ///
    /// Initialisation follows PyTorch's defaults so that training behaves alike: every LSTM
    /// weight and bias, and the Dense layer's, is drawn from U(−1/√H, 1/√H), here from a
    /// ``SeededGenerator`` so that the same seed gives the same model.
    /// - Parameters:
    ///   - window: steps per window T (≥ 1).
    ///   - sensors: sensors D (≥ 1).
    ///   - hidden: hidden units H (≥ 1).
    ///   - seed: initialisation seed.
    public init(window: Int, sensors: Int, hidden: Int, seed: UInt64 = 0) {
        precondition(window > 0 && sensors > 0 && hidden > 0, "autoencoder dimensions must be positive")
        self.window = window
        self.sensors = sensors
        self.hidden = hidden
        layout = ParameterLayout(sensors: sensors, hidden: hidden)
        var rng = SeededGenerator(seed: seed)
        let bound = 1 / Float(hidden).squareRoot()
        parameters = (0..<layout.count).map { _ in rng.uniform(-bound, bound) }
    }

    /// An autoencoder with known parameters, e.g. read from a model file.
    ///
    /// - Parameters:
    ///   - window: steps per window T (≥ 1).
    ///   - sensors: sensors D (≥ 1).
    ///   - hidden: hidden units H (≥ 1).
    ///   - parameters: all parameters, laid out by ``ParameterLayout`` for `sensors` and `hidden`.
    /// - Throws: ``ShapeError`` when `parameters` does not hold exactly the layout's count.
    public init(window: Int, sensors: Int, hidden: Int, parameters: [Float]) throws {
        precondition(window > 0 && sensors > 0 && hidden > 0, "autoencoder dimensions must be positive")
        let layout = ParameterLayout(sensors: sensors, hidden: hidden)
        guard parameters.count == layout.count else {
            throw ShapeError(expected: [layout.count], found: [parameters.count], context: "autoencoder parameters")
        }
        self.window = window
        self.sensors = sensors
        self.hidden = hidden
        self.layout = layout
        self.parameters = parameters
    }

    /// The named parameter tensor (e.g. `encoder/weight_ih_l0`), or `nil` for an unknown name.
    public func tensor(_ name: String) -> Tensor? {
        guard let e = layout.entry(name) else { return nil }
        return try? Tensor(shape: e.shape, scalars: Array(parameters[e.offset..<e.offset + e.count]))
    }

    /// Replaces the named parameter tensor.
    ///
    /// - Throws: ``ShapeError`` when the name is unknown or the shape differs.
    public mutating func setTensor(_ name: String, _ t: Tensor) throws {
        guard let e = layout.entry(name) else {
            throw ShapeError(expected: [], found: t.shape, context: "unknown parameter \(name)")
        }
        guard e.shape == t.shape else { throw ShapeError(expected: e.shape, found: t.shape, context: name) }
        parameters.replaceSubrange(e.offset..<e.offset + e.count, with: t.scalars)
    }
}
