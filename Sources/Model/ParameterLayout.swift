/// Where each named parameter tensor lives in an autoencoder's flat parameter vector.
///
/// Names are the HDF5 dataset paths of the model file (DESIGN.md), shapes as PyTorch stores
/// them, so `nn.LSTM`/`nn.Linear` load them unchanged. Keeping all parameters in one vector lets
/// Adam, gradient clipping and the data-parallel gradient sum run over one contiguous array.
public struct ParameterLayout: Sendable, Equatable {
    /// One parameter tensor: its name, shape and offset in the flat vector.
    public struct Entry: Sendable, Equatable {
        /// Dataset path in the model file, e.g. `encoder/weight_ih_l0`.
        public let name: String
        /// Shape, PyTorch convention (`[4H, D]` for `weight_ih`).
        public let shape: [Int]
        /// Offset of the first value in the flat vector.
        public let offset: Int
        /// Number of values.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The entries in storage order.
    public let entries: [Entry]
    /// Total number of parameters.
    public let count: Int

    /// The layout of an autoencoder with `sensors` inputs and `hidden` units.
    public init(sensors d: Int, hidden h: Int) {
        let shapes: [(String, [Int])] = [
            ("encoder/weight_ih_l0", [4 * h, d]), ("encoder/weight_hh_l0", [4 * h, h]),
            ("encoder/bias_ih_l0", [4 * h]), ("encoder/bias_hh_l0", [4 * h]),
            ("decoder/weight_ih_l0", [4 * h, h]), ("decoder/weight_hh_l0", [4 * h, h]),
            ("decoder/bias_ih_l0", [4 * h]), ("decoder/bias_hh_l0", [4 * h]),
            ("output/weight", [d, h]), ("output/bias", [d]),
        ]
        var offset = 0
        var entries: [Entry] = []
        for (name, shape) in shapes {
            entries.append(Entry(name: name, shape: shape, offset: offset))
            offset += shape.reduce(1, *)
        }
        self.entries = entries
        self.count = offset
    }

    /// The entry with this name, or `nil`.
    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// Offsets of the fixed entries, in the order of ``init(sensors:hidden:)``.
    var offsets: Offsets { Offsets(entries.map(\.offset)) }

    struct Offsets {
        let encWIH, encWHH, encBIH, encBHH, decWIH, decWHH, decBIH, decBHH, outW, outB: Int
        init(_ o: [Int]) {
            (encWIH, encWHH, encBIH, encBHH) = (o[0], o[1], o[2], o[3])
            (decWIH, decWHH, decBIH, decBHH) = (o[4], o[5], o[6], o[7])
            (outW, outB) = (o[8], o[9])
        }
    }
}
