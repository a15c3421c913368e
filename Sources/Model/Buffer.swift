/// A fixed-size, zero-initialised scratch buffer with identity.
///
/// Workspaces hold their activations in these so that the hot loops work on raw pointers and a
/// forward pass allocates nothing once the workspace exists.
final class Buffer<S: BLASScalar>: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<S>

    init(_ count: Int) {
        precondition(count >= 0, "buffer size must not be negative")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    @inline(__always) subscript(i: Int) -> S {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// Sets the first `n` values (all by default) to zero.
    func zero(_ n: Int? = nil) { pointer.update(repeating: 0, count: n ?? count) }
}
