/// A dense float32 tensor in row-major order with a checked shape.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// Values in row-major order; `scalars.count` equals the product of `shape`.
    public private(set) var scalars: [Float]

    /// A tensor of `shape` holding `scalars`.
    ///
    /// - Throws: ``ShapeError`` when a dimension is negative or the count does not match.
    public init(shape: [Int], scalars: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ShapeError(expected: shape, found: [scalars.count], context: "negative dimension")
        }
        let n = shape.reduce(1, *)
        guard n == scalars.count else {
            throw ShapeError(expected: shape, found: [scalars.count], context: "value count \(scalars.count) ≠ \(n)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension")
        self.shape = shape
        self.scalars = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Number of values.
    public var count: Int { scalars.count }

    /// The value at a full index.
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) ≠ tensor rank \(shape.count)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of bounds for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }
}

/// A shape that is not the one expected.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    /// The shape that was required.
    public let expected: [Int]
    /// The shape (or value count) that was given.
    public let found: [Int]
    /// What was being shaped.
    public let context: String

    public var description: String { "shape mismatch (\(context)): expected \(expected), found \(found)" }
}
