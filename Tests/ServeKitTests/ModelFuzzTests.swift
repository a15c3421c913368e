import Foundation
import Model
import Testing
@testable import ServeKit

/// The seeded mutation harness for model files (scripts/fuzz-model.sh runs it longer): mutants of
/// the shipped pump model and of the corpus's small model — byte flips, truncations, spliced
/// blocks, rewritten integers and floats — go through the isolated reader. The test fails if
/// this process (the parent) crashes, if a run outlives the wall limit, or if the reader
/// accepts a model that fails validation; it prints how the mutants fared.
///
/// Environment: VERTAC_FUZZ_SEED (default 1), VERTAC_FUZZ_MUTANTS (default 240),
/// VERTAC_FUZZ_SECONDS (stop starting mutants after this long; default 40), VERTAC_FUZZ_SAVE
/// (a directory to keep mutants that crashed or hung the child, when under 100 KB).
@Suite struct ModelFuzzTests {
    static let corpus = repositoryRoot + "/fuzz/corpus/model"

    /// Every crafted file of the corpus gets the answer expected.tsv records for it.
    @Test func corpusFilesGetTheirExpectedAnswers() async throws {
        let dir = DataDir()
        var settings = readerSettings(dir)
        (settings.timeout, settings.cpuSeconds) = (5, 2)   // the libhdf5-loop files spin until stopped
        let lines = try String(contentsOfFile: Self.corpus + "/expected.tsv", encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
        #expect(lines.count >= 20)
        for line in lines {
            let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
            let (name, expected) = (fields[0], fields.count > 1 ? fields[1] : "")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name))
            let e = try await readerError(bytes, settings)
            let answer = e.map { "\($0)" } ?? "accepted"
            #expect(e?.isInvalidModel ?? true)
            // "any refusal": a file that crashed or hung the HDF5 library; a later library may refuse it cleanly.
            let matches = expected == "any refusal" ? e?.isInvalidModel == true
                : answer == expected || (expected.hasSuffix("…") && answer.hasPrefix(expected.dropLast()))
            #expect(matches, "\(name): \(answer)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    enum Outcome: String, CaseIterable {
        case accepted, refused, crashed, timedOut = "timed out", other
    }

    @Test func seededMutantsNeverTakeTheParentDownOrOutliveTheLimit() async throws {
        let env = ProcessInfo.processInfo.environment
        let seed = UInt64(env["VERTAC_FUZZ_SEED"] ?? "") ?? 1
        let count = Int(env["VERTAC_FUZZ_MUTANTS"] ?? "") ?? 240
        let budget = Double(env["VERTAC_FUZZ_SECONDS"] ?? "") ?? 40
        let save = env["VERTAC_FUZZ_SAVE"]
        let bases = [try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/models/pump-default.h5")),
                     try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/small.h5"))]
        let dir = DataDir()
        var limited = readerSettings(dir)
        (limited.timeout, limited.cpuSeconds) = (5, 3)
        // The child's life, spawn to reap: the deadline plus a second to kill and reap it.
        let settings = limited, wallLimit = limited.timeout + 1

        let start = ContinuousClock.now
        var tally: [Outcome: Int] = [:]
        var slowest = 0.0
        var started = 0
        // Two children at a time (the machines this runs on have two cores or more).
        try await withThrowingTaskGroup(of: (Int, Outcome, Double, String).self) { group in
            func launch() -> Bool {
                guard started < count, (ContinuousClock.now - start) < .seconds(budget) else { return false }
                let k = started
                started += 1
                var rng = Mutator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(k))
                let mutant = rng.mutate(bases[k % bases.count])
                group.addTask {
                    let (result, seconds) = await IsolatedModelReader(settings).run(mutant, name: "mutant-\(k).h5")
                    var outcome = Outcome.other
                    var detail = ""
                    switch result {
                    case .success(let file):
                        do {
                            try file.validate(path: "mutant-\(k).h5")
                            outcome = .accepted
                        } catch { detail = "accepted but invalid: \(error)" }
                    case .failure(let e):
                        detail = "\(e)"
                        switch e.kind {
                        case .refused, .malformed: outcome = .refused
                        case .crashed: outcome = .crashed
                        case .timedOut, .outOfCPUTime: outcome = .timedOut
                        case .outputTooLarge, .failed, .unavailable: outcome = .other
                        }
                    }
                    if let save, outcome == .crashed || outcome == .timedOut, mutant.count < 100_000 {
                        try? mutant.write(to: URL(fileURLWithPath: "\(save)/\(outcome == .crashed ? "crash" : "hang")-seed\(seed)-\(k).h5"))
                    }
                    return (k, outcome, seconds ?? .infinity, detail)
                }
                return true
            }
            _ = launch() && launch()
            while let (k, outcome, elapsed, detail) = try await group.next() {
                tally[outcome, default: 0] += 1
                slowest = max(slowest, elapsed)
                #expect(elapsed <= wallLimit, "mutant \(k): the child lived \(elapsed) s")
                #expect(outcome != .other, "mutant \(k): \(detail)")
                _ = launch()
            }
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds)
        print("model fuzz: seed \(seed), \(started) mutants in \(Int(seconds)) s (slowest \(String(format: "%.2f", slowest)) s): "
              + Outcome.allCases.map { "\(tally[$0, default: 0]) \($0.rawValue)" }.joined(separator: ", "))
        #expect(started > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)   // no temporary file left behind
    }
}

/// Seeded mutations of a file's bytes (SplitMix64).
struct Mutator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// Integers that break size arithmetic, and floats that break scores.
    static let integers: [Int64] = [0, 1, -1, 255, 1 << 31, 1 << 32, 1 << 62, .max, .min]
    static let floats: [Float] = [.nan, .infinity, -.infinity, 3e38, -3e38, 0, -1, .leastNonzeroMagnitude]

    mutating func mutate(_ base: Data) -> Data {
        var b = [UInt8](base)
        let kind = below(7)
        switch kind {
        case 0:   // a few random bytes
            for _ in 0...below(4) { b[below(b.count)] = UInt8(truncatingIfNeeded: next()) }
        case 1:   // one bit
            b[below(b.count)] ^= UInt8(1) << UInt8(below(8))
        case 2:   // truncated
            b.removeSubrange(below(b.count)...)
        case 3:   // an interesting integer at an aligned offset
            write(Self.integers[below(Self.integers.count)].littleEndian, into: &b, at: below(b.count / 8) * 8)
        case 4:   // an attribute's small integer value rewritten (window, hidden_size, band, counts, …)
            let targets: [Int64] = [1, 3, 4, 6, 17, 30, 64]
            let needle = withUnsafeBytes(of: targets[below(targets.count)].littleEndian) { Array($0) }
            let hits = (0..<(b.count - 8)).filter { i in (0..<8).allSatisfy { b[i + $0] == needle[$0] } }
            if let at = hits.isEmpty ? nil : hits[below(hits.count)] {
                write(Self.integers[below(Self.integers.count)].littleEndian, into: &b, at: at)
            }
        case 5:   // an interesting float at an aligned offset
            write(Self.floats[below(Self.floats.count)].bitPattern.littleEndian, into: &b, at: below(b.count / 4) * 4)
        default:  // a block copied over another
            let n = 16 + below(240)
            let from = below(b.count - n), to = below(b.count - n)
            b.replaceSubrange(to..<(to + n), with: b[from..<(from + n)])
        }
        return Data(b)
    }

    private func write<T: FixedWidthInteger>(_ v: T, into b: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: v) { raw in
            for (i, byte) in raw.enumerated() where offset + i < b.count { b[offset + i] = byte }
        }
    }
}
