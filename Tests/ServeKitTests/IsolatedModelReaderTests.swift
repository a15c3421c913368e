import Foundation
import Model
import Testing
@testable import ServeKit

/// The built `vertac-serve` beside the test bundle: the model reader's child in tests (this
/// process is the test runner, so /proc/self/exe has no `model-check`).
let modelReaderExecutable: String = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return [dir, dir.deletingLastPathComponent()].map { $0.appendingPathComponent("vertac-serve").path }
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "vertac-serve-not-built-beside-the-tests"
}()

/// The repository's root (for models/ and fuzz/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Reader settings for tests: the built child, a private temporary directory to check for leftovers.
func readerSettings(_ dir: DataDir) -> ModelReaderSettings {
    var r = ModelReaderSettings()
    r.executable = modelReaderExecutable
    r.temporaryDirectory = dir.path
    try? FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
    return r
}

/// The error of reading `bytes` in isolation, or nil when it was accepted.
func readerError(_ bytes: Data, _ settings: ModelReaderSettings) async throws -> ModelReaderError? {
    do {
        _ = try await IsolatedModelReader(settings).read(bytes, name: "m.h5")
        return nil
    } catch let e as ModelReaderError {
        return e
    }
}

@Suite struct IsolatedModelReaderTests {
    let pump = try! Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/models/pump-default.h5"))

    @Test func readsTheSameModelAsTheInProcessReader() async throws {
        let dir = DataDir()
        let file = try await IsolatedModelReader(readerSettings(dir)).read(pump, name: "pump-default.h5")
        #expect(file == (try ModelFile.read(from: repositoryRoot + "/models/pump-default.h5")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)   // the temporary directory is gone
    }

    @Test func aRefusedFileIsNamedWithoutItsTemporaryPath() async throws {
        let dir = DataDir()
        let e = try #require(try await readerError(Data("not a model".utf8), readerSettings(dir)))
        #expect(e.isInvalidModel && e.kind == .refused("not an HDF5 file (missing, truncated or another format)"))
        let cut = try #require(try await readerError(pump.prefix(pump.count / 2), readerSettings(dir)))
        #expect(cut.isInvalidModel && !"\(cut)".contains(dir.path), "\(cut)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func aCrashingReaderIsReportedWithItsSignal() async throws {
        let dir = DataDir()
        var s = readerSettings(dir)
        s.simulate = .crash
        let e = try #require(try await readerError(pump, s))
        #expect(e.isInvalidModel && "\(e)" == "the model reader crashed (signal 11)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func aHangingReaderIsKilledAtTheDeadline() async throws {
        let dir = DataDir()
        var s = readerSettings(dir)
        (s.simulate, s.timeout) = (.hang, 1)
        let (result, seconds) = await IsolatedModelReader(s).run(pump, name: "m.h5")
        guard case .failure(let e) = result else { Issue.record("a hanging reader was believed"); return }
        #expect(e.isInvalidModel && "\(e)" == "the model reader timed out after 1 s")
        #expect((seconds ?? .infinity) < 2, "the child lived \(seconds ?? .infinity) s")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func aSpinningReaderRunsOutOfCPUTime() async throws {
        let dir = DataDir()
        var s = readerSettings(dir)
        (s.simulate, s.cpuSeconds, s.timeout) = (.spin, 1, 20)
        let e = try #require(try await readerError(pump, s))
        #expect(e.isInvalidModel && "\(e)" == "the model reader timed out after 1 s of CPU time")
    }

    @Test func aLyingOrFloodingReaderIsNotBelieved() async throws {
        let dir = DataDir()
        var s = readerSettings(dir)
        s.simulate = .lie
        let lie = try #require(try await readerError(pump, s))
        #expect(lie.isInvalidModel && "\(lie)" == "/encoder/weight_ih_l0: 0 bytes for shape [8, 1]")
        (s.simulate, s.maxOutputBytes) = (.flood, 4 << 20)
        let flood = try #require(try await readerError(pump, s))
        #expect(flood.isInvalidModel && "\(flood)" == "the model reader printed more than 4194304 bytes")
    }

    @Test func aMissingReaderIsTheServersFault() async throws {
        let dir = DataDir()
        var s = readerSettings(dir)
        s.executable = dir.path + "/no-such-binary"
        let e = try #require(try await readerError(pump, s))
        #expect(!e.isInvalidModel && "\(e)".contains("cannot start"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func theTransferDocumentRoundTripsAndIsChecked() throws {
        let file = try ModelFile.read(from: repositoryRoot + "/models/pump-default.h5")
        guard case .model(let back) = try ModelTransfer.decode(try ModelTransfer.encode(file), path: "x") else {
            Issue.record("not a model")
            return
        }
        #expect(back == file)
        // A document whose values fail the checks is refused like a file would be.
        var bad = file
        bad.calibration.sensorThreshold[0] = -1
        #expect(throws: ModelFileError.self) { try ModelTransfer.decode(try ModelTransfer.encode(bad), path: "x") }
        #expect(throws: ModelFileError.self) { try ModelTransfer.decode(Data("{\"format\": 1}".utf8), path: "x") }
    }
}
