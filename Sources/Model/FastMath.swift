import Foundation

extension Double {
    @inline(__always) var exponential: Double { Foundation.exp(self) }
    @inline(__always) var hyperbolicTangent: Double { Foundation.tanh(self) }
}

/// Vectorised `exp`, `sigmoid`, `tanh` and the fused LSTM cell for `Float`.
///
/// The LSTM spends most of its non-BLAS time here: five transcendental values per hidden unit
/// and step. libm's scalar `expf` would dominate scoring, so `exp` uses the Cephes range
/// reduction (x = n·ln2 + r) with a degree-6 polynomial on 8 lanes (relative error < 2e-7);
/// `tanh(x) = 1 − 2/(1 + e^{2x})` (absolute error < 2e-7). The whole cell update runs in one
/// pass over the hidden units so that each gate value is loaded once.
enum FastMath {
    typealias V = SIMD8<Float>
    typealias U = SIMD8<UInt32>

    /// `a · b + c`, fused where the build targets a CPU with FMA (see Package.swift).
    @inline(__always)
    static func madd(_ a: V, _ b: V, _ c: V) -> V {
        #if VERTAC_FMA
        return c.addingProduct(a, b)
        #else
        return a * b + c
        #endif
    }

    @inline(__always)
    static func exp(_ x0: V) -> V {
        var x = x0
        x.replace(with: V(repeating: -87), where: x .< V(repeating: -87))
        x.replace(with: V(repeating: 88), where: x .> V(repeating: 88))
        // Round x·log2(e) to an integer with the 1.5·2^23 trick (no float→int conversion).
        let magic = V(repeating: 12_582_912.0)
        let t = madd(x, V(repeating: 1.442_695_04), magic)
        let n = t - magic
        let r = madd(n, V(repeating: 2.121_944_4e-4), madd(n, V(repeating: -0.693_359_375), x))
        var p = V(repeating: 1.987_569_1e-4)
        p = madd(p, r, V(repeating: 1.398_199_9e-3))
        p = madd(p, r, V(repeating: 8.333_452e-3))
        p = madd(p, r, V(repeating: 4.166_579_6e-2))
        p = madd(p, r, V(repeating: 1.666_666_5e-1))
        p = madd(p, r, V(repeating: 5.000_000_1e-1))
        p = madd(p, r * r, r + 1)
        // 2^n: the integer n sits in the low mantissa bits of t.
        let bits = ((unsafeBitCast(t, to: U.self) &- unsafeBitCast(magic, to: U.self)) &<< 23) &+ 0x3F80_0000
        return p * unsafeBitCast(bits, to: V.self)
    }

    @inline(__always) static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }
    @inline(__always) static func tanh(_ x: V) -> V { 1 - 2 / (1 + exp(2 * x)) }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Loads `n < 8` values, zero-padded.
    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ n: Int) -> V {
        var v = V(repeating: 0)
        for k in 0..<n { v[k] = p[k] }
        return v
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for k in 0..<n { p[k] = v[k] }
    }

    static func sigmoid(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { store(sigmoid(load(src + i)), dst + i); i += 8 }
        if i < count { store(sigmoid(load(src + i, count - i)), dst + i, count - i) }
    }

    static func tanh(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { store(tanh(load(src + i)), dst + i); i += 8 }
        if i < count { store(tanh(load(src + i, count - i)), dst + i, count - i) }
    }

    /// The LSTM cell for one sequence; see ``BLASScalar/lstmCell(gates:recurrent:input:bias:cellPrev:cell:tanhCell:hidden:units:)``.
    static func lstmCell(gates row: UnsafeMutablePointer<Float>, recurrent: Bool, input: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>, cellPrev cp: UnsafePointer<Float>,
                         cell cn: UnsafeMutablePointer<Float>, tanhCell tc: UnsafeMutablePointer<Float>,
                         hidden hn: UnsafeMutablePointer<Float>, units H: Int) {
        @inline(__always)
        func pre(_ k: Int, _ n: Int) -> V {
            let full = n == 8
            let x = full ? load(input + k) + load(bias + k) : load(input + k, n) + load(bias + k, n)
            guard recurrent else { return x }
            return x + (full ? load(row + k) : load(row + k, n))
        }
        @inline(__always)
        func block(_ j: Int, _ n: Int) {
            let full = n == 8
            let i = sigmoid(pre(j, n))
            let f = sigmoid(pre(H + j, n))
            let g = tanh(pre(2 * H + j, n))
            let o = sigmoid(pre(3 * H + j, n))
            let c = madd(f, full ? load(cp + j) : load(cp + j, n), i * g)
            let t = tanh(c)
            if full {
                store(i, row + j); store(f, row + H + j); store(g, row + 2 * H + j); store(o, row + 3 * H + j)
                store(c, cn + j); store(t, tc + j); store(o * t, hn + j)
            } else {
                store(i, row + j, n); store(f, row + H + j, n); store(g, row + 2 * H + j, n)
                store(o, row + 3 * H + j, n); store(c, cn + j, n); store(t, tc + j, n); store(o * t, hn + j, n)
            }
        }
        var j = 0
        while j + 8 <= H { block(j, 8); j += 8 }
        if j < H { block(j, H - j) }
    }

    /// The LSTM cell's backward step for one sequence, 8 units at a time; see
    /// ``BLASScalar/lstmCellBackward(gates:dGates:dh:dc:cellPrev:tanhCell:units:)``.
    static func lstmCellBackward(gates row: UnsafePointer<Float>, dGates drow: UnsafeMutablePointer<Float>,
                                 dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>,
                                 cellPrev cp: UnsafePointer<Float>, tanhCell tc: UnsafePointer<Float>, units H: Int) {
        var j = 0
        let one = V(repeating: 1)
        while j + 8 <= H {
            let i = load(row + j), f = load(row + H + j), g = load(row + 2 * H + j), o = load(row + 3 * H + j)
            let th = load(tc + j), dhj = load(dh + j)
            let dct = load(dc + j) + dhj * o * (one - th * th)
            store(dct * g * i * (one - i), drow + j)
            store(dct * load(cp + j) * f * (one - f), drow + H + j)
            store(dct * i * (one - g * g), drow + 2 * H + j)
            store(dhj * th * o * (one - o), drow + 3 * H + j)
            store(dct * f, dc + j)
            j += 8
        }
        lstmCellBackwardScalar(row, drow, dh, dc, cp, tc, units: j..<H, hidden: H)
    }
}
