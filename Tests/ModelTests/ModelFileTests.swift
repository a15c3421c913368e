import CHDF5
import Foundation
import Testing
@testable import Model

@Suite struct ModelFileTests {
    static func sample(reference: Bool = true) -> ModelFile {
        let model = LSTMAutoencoder(window: 6, sensors: 3, hidden: 4, seed: 3)
        return ModelFile(
            model: model, sensors: ["Pressure", "Volume Flow RateRMS", "température"],
            scaler: try! MinMaxScaler(min: [0, 1, 2], max: [1, 2, 4]), loss: .mse,
            calibration: Calibration(
                sensorThreshold: [0.1, 0.2, 0.3], windowThreshold: 0.2, percentile: 99, method: "percentile",
                envelope: reference ? ThresholdEnvelope(bins: 2, sensorThreshold: [0.1, 0.2, 0.3, 0.05, 0.1, 0.2], windowThreshold: [0.2, 0.1],
                                                        dtwThreshold: [1, 2, 3, 0.5, 1, 1.5], variationFloor: [0, 0.01, 0.02, 0.03, 0, 0]) : nil,
                expected: reference ? ExpectedFalseAlarms(eventsPer100Cycles: 0.5, reportsPer100Cycles: 0.25, rowRate: 0.001,
                                                          cycles: 40, folds: 5) : nil),
            reference: reference ? ReferenceCycle(values: (0..<30).map(Float.init), length: 10, dtwThreshold: [1, 2, 3], band: 4,
                                                  reportThreshold: [0.01, 0.02, 0.03], lengthRange: 8...12, completionLow: 0.95) : nil,
            training: TrainingSummary(loss: [0.3, 0.2], validationLoss: [0.35, 0.25], windows: 120, cycles: 4,
                                      epochs: 2, seconds: 1.25, dataSHA256: "abc123"),
            createdAt: "2026-11-22T10:00:00Z", trainerVersion: "test")
    }

    @Test(arguments: [true, false])
    func roundTrip(reference: Bool) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("m.h5")
        let file = Self.sample(reference: reference)
        try file.write(to: path)
        #expect(try ModelFile.read(from: path) == file)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.h5"]) // no temp file left
    }

    /// Writes the sample, then edits the file with raw HDF5 calls.
    func edited(_ edit: (hid_t) -> Void) throws -> (TemporaryDirectory, String) {
        let dir = TemporaryDirectory()
        let path = dir.file("m.h5")
        try Self.sample().write(to: path)
        hdf5Lock.withLock {
            let f = H5Fopen(path, vt_H5F_ACC_RDWR(), vt_H5P_DEFAULT())
            edit(f)
            H5Fclose(f)
        }
        return (dir, path)
    }

    func readError(_ path: String) -> String {
        do {
            _ = try ModelFile.read(from: path)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func missingDatasetIsNamed() throws {
        let (dir, path) = try edited { H5Ldelete($0, "encoder/weight_hh_l0", vt_H5P_DEFAULT()) }
        _ = dir
        #expect(readError(path).hasSuffix("missing dataset /encoder/weight_hh_l0"))
    }

    @Test func wrongShapeNamesExpectedAndFound() throws {
        let (dir, path) = try edited { f in
            H5Ldelete(f, "output/bias", vt_H5P_DEFAULT())
            let h = HDF5FileWriter(f)
            h.floats("output/bias", shape: [4], [1, 2, 3, 4])
        }
        _ = dir
        #expect(readError(path).hasSuffix("/output/bias has shape [4], expected [3]"))
    }

    @Test func missingAttributeIsNamed() throws {
        let (dir, path) = try edited { H5Adelete_by_name($0, "training", "epochs", vt_H5P_DEFAULT()) }
        _ = dir
        #expect(readError(path).hasSuffix("missing attribute epochs of /training"))
    }

    @Test func unknownFormatVersionIsRefused() throws {
        let (dir, path) = try edited { f in
            H5Adelete(f, "format_version")
            HDF5FileWriter(f).int("/", "format_version", 2)
        }
        _ = dir
        #expect(readError(path).contains("unsupported format_version 2"))
    }

    @Test func otherHDF5FileIsNotAModel() throws {
        let (dir, path) = try edited { f in
            H5Adelete(f, "format")
            HDF5FileWriter(f).string("/", "format", "something-else")
        }
        _ = dir
        #expect(readError(path).contains("not a VerTac model"))
    }

    @Test func nonFiniteWeightsAreRefused() throws {
        let (dir, path) = try edited { f in
            H5Ldelete(f, "output/bias", vt_H5P_DEFAULT())
            HDF5FileWriter(f).floats("output/bias", shape: [3], [1, .nan, 3])
        }
        _ = dir
        #expect(readError(path).contains("/output/bias: non-finite value"))
    }

    @Test func truncatedGarbageAndMissingFilesGiveClearErrors() throws {
        let dir = TemporaryDirectory()
        let good = dir.file("good.h5")
        try Self.sample().write(to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        for cut in [bytes.count / 2, 2048, 100] {
            let path = dir.file("cut-\(cut).h5")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            let message = readError(path)
            #expect(message != "no error" && message.hasPrefix(path), "truncated at \(cut): \(message)")
        }
        let text = dir.file("notes.h5")
        try "timestamp,a\n1,2\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(readError(text).contains("not an HDF5 file"))
        #expect(readError(dir.file("absent.h5")).contains("not an HDF5 file"))
    }

    @Test func failedWriteLeavesExistingFileIntact() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("m.h5")
        try Self.sample().write(to: path)
        #expect(throws: ModelFileError.self) { try Self.sample().write(to: dir.file("no-such-dir/m.h5")) }
        #expect(try ModelFile.read(from: path) == Self.sample())
    }
}

/// Raw writes for the tests that build broken files.
struct HDF5FileWriter {
    let f: hid_t
    init(_ f: hid_t) { self.f = f }

    func floats(_ name: String, shape: [Int], _ v: [Float]) {
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        let ds = H5Dcreate2(f, name, vt_H5T_IEEE_F32LE(), space, vt_H5P_DEFAULT(), vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        _ = v.withUnsafeBufferPointer { H5Dwrite(ds, vt_H5T_NATIVE_FLOAT(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress) }
        H5Dclose(ds)
        H5Sclose(space)
    }

    func int(_ object: String, _ name: String, _ value: Int64) {
        var v = value
        attribute(object, name, vt_H5T_STD_I64LE(), vt_H5T_NATIVE_INT64(), &v)
    }

    func string(_ object: String, _ name: String, _ value: String) {
        let t = HDF5File.utf8StringType()
        let c = strdup(value)
        var p: UnsafeMutablePointer<CChar>? = c
        attribute(object, name, t, t, &p)
        free(c)
        H5Tclose(t)
    }

    private func attribute<T: BitwiseCopyable>(_ object: String, _ name: String, _ ft: hid_t, _ mt: hid_t, _ v: inout T) {
        let o = H5Oopen(f, object, vt_H5P_DEFAULT())
        let s = H5Screate(H5S_SCALAR)
        let a = H5Acreate2(o, name, ft, s, vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        H5Awrite(a, mt, &v)
        H5Aclose(a)
        H5Sclose(s)
        H5Oclose(o)
    }
}
