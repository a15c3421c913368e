import Foundation
import Model
import Testing
@testable import Inference

@Suite struct CycleAlignmentTests {
    /// Two sensors; the cycle runs the reference's shape with its first half stretched 1.6×.
    static func warped(m: Int) -> (cycle: [Float], reference: [Float], n: Int) {
        func shape(_ u: Double) -> (Float, Float) { (Float(sin(2 * .pi * u) + 2 * u), Float(u * u * 10)) }
        var reference: [Float] = []
        for i in 0..<m { let (a, b) = shape(Double(i) / Double(m - 1)); reference += [a, b] }
        // Cycle time τ ∈ [0, 1] maps to reference time u: slow first half, fast second half.
        let n = Int(Double(m) * 1.3)
        var cycle: [Float] = []
        for i in 0..<n {
            let tau = Double(i) / Double(n - 1)
            let u = tau < 0.615 ? tau * 0.5 / 0.615 : 0.5 + (tau - 0.615) * 0.5 / 0.385
            let (a, b) = shape(u)
            cycle += [a, b]
        }
        return (cycle, reference, n)
    }

    @Test func theDTWPathAlignsAWarpedCycleAndStretchingDoesNot() throws {
        let (cycle, reference, n) = Self.warped(m: 200)
        let scaler = MinMaxScaler(fitting: reference + cycle, sensors: 2)
        let path = DTW.warpingPath(cycle, reference, dimensions: 2, window: 80).path.map { [$0.0, $0.1] }
        let times = (0..<n).map { 100 + Double($0) * 0.5 }
        let dtw = CycleAlignment.make(sensors: ["a", "b"], values: cycle, times: times, reference: reference, path: path,
                                      scaler: scaler, dtwThreshold: [1e-4, 1e-4], points: n)
        let linear = CycleAlignment.make(sensors: ["a", "b"], values: cycle, times: times, reference: reference, path: [],
                                         scaler: scaler, dtwThreshold: [1e-4, 1e-4], points: n)
        #expect(dtw.alignedBy == "dtw" && linear.alignedBy == "linear" && dtw.rowsPerPoint == 1 && dtw.time.count == n)
        func worst(_ a: CycleAlignment) -> Float {
            (0..<2).map { j in zip(a.cycle[j], a.reference[j]).map { abs($0 - $1) / scaler.range(j) }.max()! }.max()!
        }
        // Along the path the reference follows the cycle to within a few percent of the range;
        // stretched evenly it is far off in the middle.
        #expect(worst(dtw) < 0.05, "\(worst(dtw))")
        #expect(worst(linear) > 0.2, "\(worst(linear))")
        // Times are seconds from the first row; deviation is |Δ| (scaled) over √threshold.
        #expect(dtw.time.first == 0 && abs(dtw.time.last! - Double(n - 1) * 0.5) < 1e-9)
        let j = 1, k = n / 2
        let expected = abs(dtw.cycle[j][k] - dtw.reference[j][k]) / scaler.range(j) / 0.01
        #expect(abs(dtw.deviation[j][k] - expected) <= 1e-3 * max(1, expected))
    }

    @Test func bucketsAverageRowsAndAnIdenticalCycleHasNoDeviation() throws {
        let m = 1_000
        let reference = (0..<m).flatMap { i in [Float(i), Float(m - i)] }
        let scaler = try MinMaxScaler(min: [0, 0], max: [Float(m), Float(m)])
        let path = (0..<m).map { [$0, $0] }
        let a = CycleAlignment.make(sensors: ["up", "down"], values: reference, times: (0..<m).map(Double.init), reference: reference,
                                    path: path, scaler: scaler, dtwThreshold: nil, points: 100)
        #expect(a.rowsPerPoint == 10 && a.time.count == 100)
        #expect(a.cycle[0][0] == 4.5 && a.cycle[1][0] == Float(m) - 4.5 && a.time[0] == 4.5)
        #expect(a.cycle == a.reference && a.deviation.allSatisfy { $0.allSatisfy { $0 == 0 } })
        // A path naming only some rows (a coarse path) is interpolated between them.
        let coarse = stride(from: 0, to: m, by: 10).map { [$0, $0] } + [[m - 1, m - 1]]
        let b = CycleAlignment.make(sensors: ["up", "down"], values: reference, times: [], reference: reference,
                                    path: coarse, scaler: scaler, dtwThreshold: nil, points: m)
        #expect(b.reference == b.cycle)
    }

    @Test func emptyInputGivesEmptySeries() {
        let scaler = MinMaxScaler(fitting: [0, 1], sensors: 1)
        let a = CycleAlignment.make(sensors: ["x"], values: [], times: [], reference: [1, 2], path: [], scaler: scaler,
                                    dtwThreshold: nil, points: 10)
        #expect(a.time.isEmpty && a.cycle == [[]])
    }
}
