import Foundation
import Testing
@testable import Inference

/// Full-matrix DTW, written as plainly as possible, as the reference for the sweep.
func naiveDTW(_ a: [Float], _ b: [Float], dims: Int = 1, window: Int?) -> Double {
    let n = a.count / dims, m = b.count / dims
    let band = DTWBand(n: n, m: m, window: window)
    var D = [[Double]](repeating: [Double](repeating: .infinity, count: m + 1), count: n + 1)
    D[0][0] = 0
    for i in 1...n {
        for j in 1...m where band.contains(i - 1, j - 1) {
            var c = 0.0
            for d in 0..<dims { let x = Double(a[(i - 1) * dims + d]) - Double(b[(j - 1) * dims + d]); c += x * x }
            D[i][j] = c + min(D[i - 1][j - 1], D[i - 1][j], D[i][j - 1])
        }
    }
    return D[n][m].squareRoot()
}

struct DTWFixtures: Decodable {
    struct Case: Decodable {
        let a: [Float], b: [Float]
        let window: Int?
        let distance: Double
        let path: [[Int]]?
        let dims: Int?
    }
    let univariate: [Case]
    let multivariate: [Case]

    static func load() throws -> DTWFixtures {
        let url = Bundle.module.url(forResource: "Fixtures/dtw_cases", withExtension: "json")!
        return try JSONDecoder().decode(DTWFixtures.self, from: Data(contentsOf: url))
    }
}

@Suite struct DTWTests {
    @Test func univariateEqualsDtaidistance() throws {
        let fx = try DTWFixtures.load()
        #expect(fx.univariate.count >= 40)
        for c in fx.univariate {
            let d = DTW.distance(c.a, c.b, window: c.window)
            #expect(abs(d - c.distance) <= 1e-9 * max(1, c.distance), "n=\(c.a.count) m=\(c.b.count) w=\(String(describing: c.window)): \(d) vs \(c.distance)")
            if let path = c.path {
                let ours = DTW.warpingPath(c.a, c.b, window: c.window)
                #expect(abs(ours.distance - c.distance) <= 1e-9 * max(1, c.distance))
                #expect(ours.path.map { [$0.0, $0.1] } == path, "path differs for n=\(c.a.count) m=\(c.b.count)")
            }
        }
    }

    @Test func multivariateEqualsDtaidistance() throws {
        for c in try DTWFixtures.load().multivariate {
            let d = DTW.distance(c.a, c.b, dimensions: c.dims!, window: c.window)
            #expect(abs(d - c.distance) <= 1e-9 * max(1, c.distance), "dims \(c.dims!) w=\(String(describing: c.window))")
            let p = DTW.warpingPath(c.a, c.b, dimensions: c.dims!, window: c.window)
            #expect(abs(p.distance - c.distance) <= 1e-9 * max(1, c.distance))
        }
    }

    @Test func windowOneOnEqualLengthsIsEuclidean() {
        let a: [Float] = [0, 1, 2, 3], b: [Float] = [1, 1, 4, 3]
        let euclidean: Double = 5.0.squareRoot()   // √(1 + 0 + 4 + 0)
        #expect(DTW.distance(a, b, window: 1) == euclidean)
        #expect(DTW.distance(a, b) < DTW.distance(a, b, window: 1)) // warping can only help
    }

    @Test func sweepMatchesNaiveOnRandomShapes() {
        var rng = SeededGenerator(seed: 77)
        for _ in 0..<300 {
            let n = Int(rng.next() % 40) + 1, dims = Int(rng.next() % 3) + 1
            let m = rng.next() % 3 == 0 ? n : Int(rng.next() % 40) + 1
            let window: Int? = rng.next() % 4 == 0 ? nil : Int(rng.next() % 12)
            let a = (0..<(n * dims)).map { _ in rng.uniform(-1, 1) }, b = (0..<(m * dims)).map { _ in rng.uniform(-1, 1) }
            let expected = naiveDTW(a, b, dims: dims, window: window)
            let got = DTW.distance(a, b, dimensions: dims, window: window)
            #expect(abs(got - expected) <= 1e-12 * max(1, expected), "n=\(n) m=\(m) dims=\(dims) w=\(String(describing: window))")
        }
    }

    @Test func independentIsPerSensorAndMedoidIsCentral() {
        // Two sensors: columns of a and b compared separately.
        let a: [Float] = [0, 10, 1, 11, 2, 12], b: [Float] = [0, 10, 2, 12, 2, 12]
        let d = DTW.independent(a, b, sensors: 2, threads: 2)
        let first = DTW.distance([0, 1, 2], [0, 2, 2]), second = DTW.distance([10, 11, 12], [10, 12, 12])
        #expect(d == [first, second])
        // Three shifted bumps and an outlier: the medoid is one of the bumps, never the outlier.
        func bump(_ shift: Int) -> [Float] {
            (0..<30).map { t -> Float in
                let x = Double(t - 12 - shift)
                return Float(exp(-x * x / 8))
            }
        }
        let cycles = [bump(0), bump(2), bump(-2), (0..<30).map { _ in Float(3) }]
        let m = DTW.medoid(cycles, dimensions: 1, window: 5, threads: 2)
        #expect(m.index == 0)
        #expect(m.totals[3] > m.totals[0])
    }
}
