import Foundation

/// Frequency-band energy shares of a series: the magnitude spectrum (radix-2 FFT of the
/// mean-removed series, zero-padded to a power of two) split into equal bands up to Nyquist,
/// each band's share of the total energy. Shares make series of different amplitude and length
/// comparable.
public enum Spectrum {
    /// Energy share of each of `bands` equal bands (sums to 1; all 0 for a constant series).
    public static func bandShares(_ x: [Float], bands: Int = 4) -> [Double] {
        precondition(bands > 0, "bands must be positive")
        guard x.count > 1 else { return [Double](repeating: 0, count: bands) }
        var n = 1
        while n < x.count { n <<= 1 }
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        var re = [Double](repeating: 0, count: n), im = [Double](repeating: 0, count: n)
        for (i, v) in x.enumerated() { re[i] = Double(v) - mean }
        fft(&re, &im)
        let half = n / 2
        var shares = [Double](repeating: 0, count: bands)
        var total = 0.0
        for k in 1...half {
            let e = re[k] * re[k] + im[k] * im[k]
            shares[min(bands - 1, (k - 1) * bands / half)] += e
            total += e
        }
        return total > 0 ? shares.map { $0 / total } : shares
    }

    /// In-place iterative radix-2 Cooley–Tukey FFT; `re.count` must be a power of two.
    static func fft(_ re: inout [Double], _ im: inout [Double]) {
        let n = re.count
        precondition(n > 0 && n & (n - 1) == 0, "FFT length must be a power of two")
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var len = 2
        while len <= n {
            let angle = -2 * Double.pi / Double(len)
            let (wr, wi) = (cos(angle), sin(angle))
            var start = 0
            while start < n {
                var (cr, ci) = (1.0, 0.0)
                for k in 0..<(len / 2) {
                    let a = start + k, b = a + len / 2
                    let tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr
                    re[b] = re[a] - tr; im[b] = im[a] - ti
                    re[a] += tr; im[a] += ti
                    (cr, ci) = (cr * wr - ci * wi, cr * wi + ci * wr)
                }
                start += len
            }
            len <<= 1
        }
    }
}
