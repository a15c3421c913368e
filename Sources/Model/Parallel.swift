import Dispatch

/// Splits `count` items into at most `parts` contiguous ranges of near-equal size.
public func shardRanges(_ count: Int, parts: Int) -> [Range<Int>] {
    let parts = max(1, min(parts, count))
    var ranges: [Range<Int>] = []
    var start = 0
    for i in 0..<parts {
        let size = count / parts + (i < count % parts ? 1 : 0)
        ranges.append(start..<start + size)
        start += size
    }
    return ranges
}

/// Runs `body(i)` for i in 0..<n, concurrently when n > 1.
///
/// Callers hand each iteration its own workspace and disjoint output ranges; that, not the
/// type system, is what makes the shared pointers safe here.
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n == 1 { body(0); return }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
    }
}

/// Carries a value into a concurrent closure whose callers guarantee data-race freedom.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
