import Foundation
import Testing
@testable import Inference

@Suite struct ReportTests {
    @Test func savitzkyGolayKeepsQuadraticsAndReducesNoise() {
        let sg = SavitzkyGolay(halfWidth: 3, order: 2)
        let quad = (0..<40).map { t -> Float in let x = Float(t) / 10; return 0.5 * x * x - x + 2 }
        for (a, b) in zip(sg.smooth(quad), quad) { #expect(abs(a - b) < 1e-4) } // edges included
        var rng = SeededGenerator(seed: 1)
        let noisy = (0..<500).map { _ in rng.uniform(-1, 1) }
        func variance(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 } / Float(v.count) }
        #expect(variance(sg.smooth(noisy)) < 0.5 * variance(noisy))
    }

    @Test func spectrumPutsASineInItsBand() {
        // 256 samples; a sine with 100 cycles sits at 100/128 of Nyquist: the 4th of 4 bands.
        let x = (0..<256).map { Float(sin(2 * Double.pi * 100 * Double($0) / 256)) }
        let s = Spectrum.bandShares(x, bands: 4)
        #expect(s[3] > 0.99)
        #expect(abs(s.reduce(0, +) - 1) < 1e-9)
        let slow = Spectrum.bandShares((0..<256).map { Float(sin(2 * Double.pi * 5 * Double($0) / 256)) }, bands: 4)
        #expect(slow[0] > 0.99)
        #expect(Spectrum.bandShares([Float](repeating: 2, count: 64)) == [0, 0, 0, 0])
    }

    static let sensors = ["speed", "pressure", "temperature"]
    static func cycle(rows: Int, drift: Float = 0, stuckFrom: Int? = nil) -> [Float] {
        (0..<rows).flatMap { t -> [Float] in
            let p = Float(t) / Float(rows)
            let speed = sin(p * 3.14)
            let pressure = 0.5 + 0.3 * sin(p * 6.28) + drift * p
            let temp: Float = stuckFrom.map { t >= $0 ? 0.4 : 0.2 + 0.5 * p } ?? 0.2 + 0.5 * p
            return [speed, pressure, temp]
        }
    }
    static let scaler = try! MinMaxScaler(min: [0, 0, 0], max: [1, 1, 1])

    func report(_ values: [Float], aborted: Bool = false, previous: [Float]? = nil) -> CycleReport {
        let n = values.count / 3
        return CycleReport.make(CycleReportInput(
            sensors: Self.sensors, values: values, times: (0..<n).map(Double.init), reference: Self.cycle(rows: 200),
            previous: previous, scaler: Self.scaler, dtwThreshold: [0.001, 0.001, 0.001], aborted: aborted), threads: 2)
    }

    @Test func identicalCycleIsHealthy() {
        let r = report(Self.cycle(rows: 200), previous: Self.cycle(rows: 200))
        #expect(r.healthScore == 100 && r.severity == .normal && !r.anomalous)
        #expect(r.sensors.allSatisfy { $0.dtwToReference < 1e-9 && $0.euclideanToPrevious! < 1e-9 })
        #expect(r.recommendations == ["No action needed: every sensor within its threshold"])
        #expect(r.path.first == [0, 0] && r.path.last == [199, 199])
        #expect(r.stopCause == nil && r.lastRows == nil)
    }

    @Test func timeWarpedCycleStaysCloseButDriftingSensorRanksFirst() {
        // 5 % longer cycle: DTW absorbs the timing, so the health stays high.
        let warped = report(Self.cycle(rows: 210))
        #expect(warped.healthScore > 90)
        let drifting = report(Self.cycle(rows: 200, drift: 0.3))
        #expect(drifting.sensors[0].sensor == "pressure")
        #expect(drifting.sensors[0].contribution > 0.9)
        #expect(drifting.severity == .critical && drifting.healthScore < warped.healthScore)
        #expect(drifting.recommendations[0].hasPrefix("Inspect pressure"))
    }

    @Test func abortedCycleHypotheses() {
        // Normal data that just stops: connection loss; the last 30 s are kept.
        let lost = report(Array(Self.cycle(rows: 200)[0..<(120 * 3)]), aborted: true)
        #expect(lost.stopCause == .connectionLoss)
        #expect(lost.lastRowsTimes?.count == 31 && lost.lastRows?.count == 31 * 3)
        // One sensor stuck before the stop: sensor fault, named.
        let stuck = report(Array(Self.cycle(rows: 200, stuckFrom: 60)[0..<(120 * 3)]), aborted: true)
        #expect(stuck.stopCause == .sensorFault)
        #expect(stuck.stopCauseDetail?.contains("temperature") == true)
        // Two sensors far off: process.
        var wild = Array(Self.cycle(rows: 200)[0..<(120 * 3)])
        for t in 60..<120 { wild[t * 3] += 0.6; wild[t * 3 + 1] -= 0.5 }
        #expect(report(wild, aborted: true).stopCause == .process)
    }
}
