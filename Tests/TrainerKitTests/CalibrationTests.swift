import Foundation
import Inference
import Model
import Testing
@testable import TrainerKit

/// The golden-cycle envelope and the event-level calibration on small synthetic cycles whose
/// answers are known: ramps vary in length from cycle to cycle, the steady phase is flat.
@Suite(.serialized) struct CalibrationTests {
    /// A cycle of two sensors at 1 row/s: ramp-up over `up` rows, steady for `steady` rows,
    /// ramp-down over `down` rows; `b` follows `a`. `step` adds to `a` over rows of the steady phase.
    static func cycle(up: Int, steady: Int, down: Int, seed: UInt64, step: (rows: Range<Int>, size: Float)? = nil) -> Cycle {
        var rng = SeededGenerator(seed: seed)
        var values: [Float] = []
        let rows = up + steady + down
        for r in 0..<rows {
            var a: Float
            if r < up { a = Float(r + 1) / Float(up) } else if r < up + steady { a = 1 } else { a = 1 - Float(r - up - steady + 1) / Float(down) }
            a += rng.uniform(-0.02, 0.02)
            if let step, step.rows.contains(r - up) { a += step.size }
            let b = 0.5 * a + 0.3 + rng.uniform(-0.02, 0.02)
            values += [a, b]
        }
        return Cycle(source: "c\(seed)", values: values, rows: rows, times: (0..<rows).map(Double.init))
    }

    /// 30 normal cycles with ramps of 12–18 rows and steady phases of 36–44 rows.
    static let data: Dataset = {
        var rng = SeededGenerator(seed: 11)
        let cycles = (0..<30).map { k in
            cycle(up: Int(rng.uniform(12, 18.99)), steady: Int(rng.uniform(36, 44.99)), down: Int(rng.uniform(12, 18.99)), seed: UInt64(100 + k))
        }
        return Dataset(sensors: ["a", "b"], cycles: cycles)
    }()

    static let fitted: FitResult = {
        var s = FitSettings()
        (s.window, s.hidden, s.epochs, s.batch, s.threads, s.learningRate, s.validationFraction) = (10, 16, 25, 32, 2, 3e-3, 0.2)
        return try! Fitter.fit(data, settings: s, createdAt: "now", trainerVersion: "test")
    }()

    /// Replays one cycle as the server does; returns the events opened and the rows whose window
    /// had a sensor score above 1.
    static func replay(_ model: ModelFile, _ c: Cycle) -> (events: [MaintenanceEvent], flagged: Int) {
        var monitor = StreamMonitor(stream: "t", model: model)
        _ = try? monitor.handle(.register, at: 0)
        _ = try? monitor.handle(.start, at: 0)
        var pending: [PendingWindow] = []
        for r in 0..<c.rows {
            if let w = monitor.ingest(Array(c.values[(r * 2)..<(r * 2 + 2)]), at: Double(r)).window { pending.append(w) }
        }
        var events: [MaintenanceEvent] = []
        var flagged = 0
        for result in BatchScorer(model: model).score(pending) {
            if result.sensorScores.contains(where: { $0 > 1 }) { flagged += 1 }
            for o in monitor.apply(result) { if case .eventOpened(let e) = o { events.append(e) } }
        }
        return (events, flagged)
    }

    static func report(_ model: ModelFile, _ c: Cycle) -> CycleReport {
        CycleReport.make(CycleReportInput(model: model, values: c.values, times: c.times!, aborted: false)!)
    }

    @Test func theEnvelopeIsWideInTheRampsAndNarrowInTheSteadyPhase() throws {
        let f = Self.fitted.file
        let e = try #require(f.calibration.envelope)
        let ref = try #require(f.reference)
        let x = try #require(f.calibration.expected)
        #expect(x.cycles == 29 && x.folds == 5)   // every cycle but the reference, held out in turn
        // DTW tolerance of sensor a: the ramps (first and last fifth of the reference) against
        // the middle of the steady phase.
        func dtw(_ fraction: Double) -> Float { e.dtwThreshold[e.bin(Int(fraction * Double(ref.length)), length: ref.length) * 2] }
        #expect(dtw(0.1) > 3 * dtw(0.5))
        #expect(dtw(0.9) > 3 * dtw(0.5))
        // The normal length range holds every training length (66–82 rows here).
        let range = try #require(ref.lengthRange)
        let lengths = Self.data.cycles.map(\.rows)
        #expect(range.lowerBound <= lengths.min()! && range.upperBound >= lengths.max()!)
    }

    @Test func aCycleStretchedInItsRampsIsNotFlagged() throws {
        let f = Self.fitted.file
        for (k, shape) in [(12, 18), (18, 12), (18, 18), (12, 12)].enumerated() {
            let c = Self.cycle(up: shape.0, steady: 40, down: shape.1, seed: UInt64(900 + k))
            let (events, flagged) = Self.replay(f, c)
            #expect(events.isEmpty, "ramps \(shape): \(events.map(\.reason))")
            #expect(flagged <= 1, "ramps \(shape): \(flagged) rows flagged")
            #expect(Self.report(f, c).severity == .normal, "ramps \(shape)")
        }
    }

    @Test func aStepInTheSteadyPhaseIsFlaggedAndAttributed() throws {
        let f = Self.fitted.file
        let c = Self.cycle(up: 15, steady: 40, down: 15, seed: 950, step: (10..<30, 0.15))
        let (events, _) = Self.replay(f, c)
        let first = try #require(events.first)
        #expect(first.sensor == "a")
        #expect(first.topSensors.first?.sensor == "a")
        // Opened within the step (steady rows 10–29 are cycle rows 25–44).
        #expect(first.openedAt >= 25 && first.openedAt <= 44)
    }

    @Test func aCycleThatEndsEarlyOrRunsLongIsFlaggedByItsReport() throws {
        let f = Self.fitted.file
        let short = Self.cycle(up: 15, steady: 12, down: 15, seed: 960)
        let long = Self.cycle(up: 15, steady: 80, down: 15, seed: 961)
        for c in [short, long] {
            let r = Self.report(f, c)
            #expect(r.severity != .normal)
            #expect((r.lengthRatio ?? 0) > 1)
        }
        #expect((Self.report(f, Self.cycle(up: 15, steady: 40, down: 15, seed: 962)).lengthRatio ?? 9) < 1)
    }

    @Test func theLengthRatioIsOneAtEitherEndOfTheRange() {
        #expect(abs(CycleReport.lengthRatio(rows: 100, range: 80...125)) < 1e-9)
        #expect(abs(CycleReport.lengthRatio(rows: 125, range: 80...125) - 1) < 1e-9)
        #expect(abs(CycleReport.lengthRatio(rows: 80, range: 80...125) - 1) < 1e-9)
        #expect(abs(CycleReport.lengthRatio(rows: 50, range: 80...125) - log(2) / (0.5 * log(125.0 / 80))) < 1e-9)
    }

    @Test func theFactorThatAvoidsAnEventFollowsTheStateMachines() {
        // Four windows at 2: below a scale of 2/3 the third is above 3× its threshold (CRITICAL,
        // an event); from 2/3 up to 2 the sensor only warns for 4 windows (no event).
        let times = (0..<6).map(Double.init)
        let r = EventScale.required([0, 0, 2, 2, 2, 2], times: times)
        #expect(abs(r - 2.0 / 3) < 2.0 / 3 * 2e-3)
        #expect(EventScale.required([0, 0, 0.5, 0, 0, 0], times: times) == 0)   // one window never warns
        // 40 windows at 1.5: 30 windows of warning make it CRITICAL, so the factor is 1.5.
        #expect(abs(EventScale.required([Float](repeating: 1.5, count: 40), times: (0..<40).map(Double.init)) - 1.5) < 1.5 * 2e-3)
    }

    @Test func tailBoundsExtrapolateFewCyclesAndUseTheQuantileForMany() {
        #expect(abs(Tail.normalQuantile(0.99) - 2.326348) < 1e-5)
        #expect(abs(Tail.normalQuantile(0.5)) < 1e-9)
        #expect(abs(Tail.normalQuantile(0.001) + 3.090232) < 1e-5)
        // 50 equal values: the mean log excess is held at 0.02, so the bound is exp(0.02 · ln 20).
        #expect(abs(Tail.bound([Double](repeating: 1, count: 50), rate: 0.01) - exp(0.02 * log(20.0))) < 1e-4)
        // A Pareto tail: 100 values evenly spaced in log from 1 to 100. The 80th percentile is
        // 100^(79.2/99) ≈ 39.8, the 20 values above it have a mean log excess of
        // ln 100 · (89.5 − 79.2)/99 ≈ 0.479, so the 1 %-bound is 39.8 · 20^0.479 ≈ 167 — beyond
        // the largest seen, as a tail bound should be.
        let pareto = (0..<100).map { exp(log(100.0) * Double($0) / 99) }
        let b = Tail.bound(pareto, rate: 0.01)
        #expect(abs(b - 39.81 * pow(20, 0.4791)) < 1)
        // Never below the largest of fewer than 100 cycles.
        #expect(Tail.bound([1, 1, 1, 1, 9], rate: 0.01) >= 9)
        // 2,000 cycles: the empirical 99th percentile.
        let many = (0..<2000).map { Double($0) / 1999 }
        #expect(abs(Tail.bound(many, rate: 0.01) - 0.99) < 1e-3)
    }

    @Test func aWindowIsHeldToTheLargestThresholdOfTheBinsItAlignsWith() {
        // 4 bins over a 40-row reference, 2 sensors.
        let e = ThresholdEnvelope(bins: 4, sensorThreshold: [1, 2, 3, 4, 5, 6, 7, 8], windowThreshold: [1, 5, 2, 3],
                                  dtwThreshold: [8, 7, 6, 5, 4, 3, 2, 1], variationFloor: [0.5, 0, 0.2, 0.1, 0.3, 0.4, 0.6, 0.6])
        #expect(e.bin(0, length: 40) == 0 && e.bin(9, length: 40) == 0 && e.bin(10, length: 40) == 1 && e.bin(39, length: 40) == 3)
        #expect(e.bin(400, length: 40) == 3)   // a cycle that runs long stays in the last bin
        let t = e.thresholds(5...25, length: 40, sensors: 2)   // bins 0–2
        #expect(t.sensor == [5, 6] && t.window == 5 && t.dtw == [8, 7] && t.variation == [0.2, 0])
    }

    @Test func liveDTWPlacesACycleInTheReferencesPhases() {
        // The reference itself aligns row by row; a cycle that lingers at the start lags behind.
        let ref: [Float] = (0..<30).map { Float($0) / 29 }
        var same = OpenEndDTW(reference: ref, sensors: 1, window: 10)
        for r in 0..<30 {
            same.append([ref[r]])
            #expect(same.position == r)
        }
        var slow = OpenEndDTW(reference: ref, sensors: 1, window: 10)
        for _ in 0..<5 { slow.append([0]) }
        for r in 0..<25 { slow.append([ref[r]]) }
        #expect(slow.position == 24)
    }
}
