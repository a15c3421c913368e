import Foundation
@testable import Model

/// Deterministic values in [lo, hi).
func randomValues(_ n: Int, seed: UInt64, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in Double(rng.uniform(Float(lo), Float(hi))) }
}

/// ‖a − b‖∞ / ‖b‖∞: the norm-wise relative error used for parity checks.
func relativeError<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: [A], _ b: [B]) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var diff = 0.0, scale = 0.0
    for (x, y) in zip(a, b) {
        diff = max(diff, abs(Double(x) - Double(y)))
        scale = max(scale, abs(Double(y)))
    }
    return scale == 0 ? diff : diff / scale
}

/// The fixtures folder shipped with the tests.
func fixturePath(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!.path
}

/// Reads float64 datasets of a fixture file.
struct FixtureFile {
    let file: HDF5File

    init(_ name: String) throws {
        guard let f = hdf5Lock.withLock({ HDF5File.open(fixturePath(name)) }) else {
            throw HDF5Failure(operation: "open", object: name)
        }
        file = f
    }

    func doubles(_ name: String) throws -> [Double] {
        try hdf5Lock.withLock { try file.readDoubles(name).values }
    }

    func shape(_ name: String) throws -> [Int] {
        try hdf5Lock.withLock { try file.readDoubles(name).shape }
    }
}

/// A temporary directory removed when the value is dropped.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "vertac-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}
