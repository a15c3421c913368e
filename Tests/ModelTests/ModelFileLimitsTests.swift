import CHDF5
import Foundation
import Testing
@testable import Model

/// Crafted files that used to trap, allocate without bound or score nonsense: each is refused
/// with an error naming the dataset or attribute and what is wrong.
@Suite struct ModelFileLimitsTests {
    /// Writes the sample model, applies `edit` with raw HDF5 calls, and returns the reader's error.
    func refusal(_ edit: (hid_t) -> Void, sample: ModelFile = ModelFileTests.sample()) throws -> String {
        let dir = TemporaryDirectory()
        let path = dir.file("m.h5")
        try sample.write(to: path)
        hdf5Lock.withLock {
            let f = H5Fopen(path, vt_H5F_ACC_RDWR(), vt_H5P_DEFAULT())
            edit(f)
            H5Fclose(f)
        }
        do {
            _ = try ModelFile.read(from: path)
            return "no error"
        } catch let e as ModelFileError {
            #expect(e.description == path + ": " + e.reason)
            return e.reason
        }
    }

    func replaceInt(_ f: hid_t, _ object: String, _ name: String, _ value: Int64) {
        H5Adelete_by_name(f, object, name, vt_H5P_DEFAULT())
        HDF5FileWriter(f).int(object, name, value)
    }

    /// Writes `values` over a dataset of the same shape, keeping its attributes.
    func overwrite(_ f: hid_t, _ name: String, _ values: [Float]) {
        let ds = H5Dopen2(f, name, vt_H5P_DEFAULT())
        _ = values.withUnsafeBufferPointer { H5Dwrite(ds, vt_H5T_NATIVE_FLOAT(), vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress) }
        H5Dclose(ds)
    }

    func replaceFloats(_ f: hid_t, _ name: String, shape: [Int], _ values: [Float]) {
        H5Ldelete(f, name, vt_H5P_DEFAULT())
        HDF5FileWriter(f).floats(name, shape: shape, values)
    }

    /// A fresh dataset-creation property list (a copy of an existing dataset's: contiguous, no
    /// filters), without touching HDF5's global class ids from Swift 6 code.
    func datasetCreationList(_ f: hid_t) -> hid_t {
        let ds = H5Dopen2(f, "training/loss", vt_H5P_DEFAULT())
        defer { H5Dclose(ds) }
        return H5Dget_create_plist(ds)
    }

    /// A chunked dataset of `shape` with nothing written: the file stays small whatever the shape.
    func declare(_ f: hid_t, _ name: String, shape: [UInt64], strings: Bool = false) {
        let dcpl = datasetCreationList(f)
        H5Ldelete(f, name, vt_H5P_DEFAULT())
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        var chunk = [hsize_t](repeating: 1, count: dims.count)
        H5Pset_chunk(dcpl, Int32(chunk.count), &chunk)
        let type = strings ? HDF5File.utf8StringType() : H5Tcopy(vt_H5T_IEEE_F32LE())
        let ds = H5Dcreate2(f, name, type, space, vt_H5P_DEFAULT(), dcpl, vt_H5P_DEFAULT())
        #expect(ds >= 0, "could not declare \(name) with shape \(shape)")
        H5Dclose(ds)
        H5Tclose(type)
        H5Pclose(dcpl)
        H5Sclose(space)
    }

    @Test func hugeWindowIsRefusedBeforeAnythingIsAllocated() throws {
        #expect(try refusal { replaceInt($0, "/", "window", 1 << 62) } == "attribute window: must be 1…10000, found 4611686018427387904")
        #expect(try refusal { replaceInt($0, "/", "window", 0) } == "attribute window: must be 1…10000, found 0")
    }

    @Test func hugeHiddenSizeIsRefused() throws {
        #expect(try refusal { replaceInt($0, "/", "hidden_size", 1 << 31) } == "attribute hidden_size: must be 1…512, found 2147483648")
        #expect(try refusal { replaceInt($0, "/", "hidden_size", -4) } == "attribute hidden_size: must be 1…512, found -4")
    }

    @Test func windowTimesWidthIsBounded() throws {
        // Each within its own bound; together one window's workspace would be gigabytes.
        #expect(try refusal { replaceInt($0, "/", "window", 10_000); replaceInt($0, "/", "hidden_size", 512) }
            == "attribute window: window × (sensors + hidden_size) = 10000 × 515 = 5150000, at most 1048576")
    }

    @Test func hugeShapesAreRefusedBeforeTheyAreRead() throws {
        #expect(try refusal { declare($0, "sensors", shape: [1 << 40], strings: true) } == "/sensors: must hold 1…1000 names, found 1099511627776")
        #expect(try refusal { declare($0, "encoder/weight_ih_l0", shape: [1 << 40, 3]) }
            == "/encoder/weight_ih_l0 has shape [1099511627776, 3], expected [16, 3]")
        #expect(try refusal { declare($0, "reference/cycle", shape: [1 << 31, 3]) }
            == "/reference/cycle: 2147483648 rows, expected 1…1000000")
        #expect(try refusal { declare($0, "training/loss", shape: [1 << 33]) } == "/training/loss: 8589934592 epochs, at most 1000000")
    }

    @Test func thresholdsMustBeFiniteAndPositive() throws {
        #expect(try refusal { replaceFloats($0, "calibration/sensor_threshold", shape: [3], [0.1, 0, 0.3]) }
            == "/calibration/sensor_threshold: threshold 0.0 at flat index 1 must be finite and greater than 0")
        #expect(try refusal { overwrite($0, "calibration/window_threshold", [-0.5]) }
            == "/calibration/window_threshold: threshold -0.5 at flat index 0 must be finite and greater than 0")
        #expect(try refusal { replaceFloats($0, "reference/dtw_threshold", shape: [3], [1, .infinity, 3]) }
            == "/reference/dtw_threshold: threshold inf at flat index 1 must be finite and greater than 0")
        #expect(try refusal { replaceInt($0, "reference/dtw_threshold", "band", 0) }
            == "attribute band of /reference/dtw_threshold: must be 1…1000000, found 0")
    }

    @Test func weightsMustBeFiniteAndModerate() throws {
        #expect(try refusal { replaceFloats($0, "output/bias", shape: [3], [1, .nan, 3]) } == "/output/bias: non-finite value at flat index 1")
        let big = try refusal { f in
            replaceFloats(f, "decoder/weight_hh_l0", shape: [16, 4], [3e38] + [Float](repeating: 0.1, count: 63))
        }
        #expect(big == "/decoder/weight_hh_l0: value 3e+38 at flat index 0 is beyond ±1000000.0")
    }

    @Test func scalerMinMustNotExceedMax() throws {
        #expect(try refusal { replaceFloats($0, "scaler/min", shape: [3], [0, 3, 2]) } == "/scaler: min 3.0 > max 2.0 for sensor 1 (Volume Flow RateRMS)")
        #expect(try refusal { replaceFloats($0, "scaler/max", shape: [3], [1, .nan, 4]) } == "/scaler/max: non-finite value at flat index 1")
        #expect(try refusal { f in
            replaceFloats(f, "scaler/min", shape: [3], [-3e38, 1, 2])
            replaceFloats(f, "scaler/max", shape: [3], [3e38, 2, 4])
        } == "/scaler: range max − min of sensor 0 (Pressure) overflows float32")
        // min = max is a constant sensor (scaled with a range of 1), as the trainer writes it.
        #expect(try refusal { replaceFloats($0, "scaler/max", shape: [3], [0, 2, 4]) } == "no error")
    }

    @Test func sensorNamesMustBeDistinct() throws {
        #expect(try refusal { f in
            H5Ldelete(f, "sensors", vt_H5P_DEFAULT())
            let t = HDF5File.utf8StringType()
            var dims: [hsize_t] = [3]
            let space = H5Screate_simple(1, &dims, nil)
            let ds = H5Dcreate2(f, "sensors", t, space, vt_H5P_DEFAULT(), vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
            let raw: [String] = ["a", "b", "a"]
            let names = raw.map { strdup($0) }
            _ = names.withUnsafeBufferPointer { H5Dwrite(ds, t, vt_H5S_ALL(), vt_H5S_ALL(), vt_H5P_DEFAULT(), $0.baseAddress) }
            names.forEach { free($0) }
            H5Dclose(ds)
            H5Sclose(space)
            H5Tclose(t)
        } == "/sensors: \"a\" appears twice")
    }

    @Test func linksAndStorageOutsideTheFileAreNotFollowed() throws {
        let soft = try refusal { f in
            H5Ldelete(f, "encoder/weight_hh_l0", vt_H5P_DEFAULT())
            H5Lcreate_soft("/decoder/weight_hh_l0", f, "encoder/weight_hh_l0", vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        }
        #expect(soft == "/encoder/weight_hh_l0: is a soft or external link (type 1); only hard links are read")
        let external = try refusal { f in
            H5Ldelete(f, "output/bias", vt_H5P_DEFAULT())
            H5Lcreate_external("/etc/hostname", "/x", f, "output/bias", vt_H5P_DEFAULT(), vt_H5P_DEFAULT())
        }
        #expect(external == "/output/bias: is a soft or external link (type 64); only hard links are read")
        let stored = try refusal { f in
            H5Ldelete(f, "output/bias", vt_H5P_DEFAULT())
            var dims: [hsize_t] = [3]
            let space = H5Screate_simple(1, &dims, nil)
            let dcpl = datasetCreationList(f)
            H5Pset_external(dcpl, "/etc/hostname", 0, 12)
            H5Dclose(H5Dcreate2(f, "output/bias", vt_H5T_IEEE_F32LE(), space, vt_H5P_DEFAULT(), dcpl, vt_H5P_DEFAULT()))
            H5Pclose(dcpl)
            H5Sclose(space)
        }
        #expect(stored.hasPrefix("/output/bias: unreadable (HDF5 could not read (stored outside the file) the dataset"), "\(stored)")
    }

    @Test func validateChecksValuesBuiltInCode() throws {
        var f = ModelFileTests.sample()
        try f.validate(path: "x")
        // L × D over the bound (each within its own): live DTW would hold that much per stream.
        let wide = LSTMAutoencoder(window: 6, sensors: 10, hidden: 4, seed: 1)
        let many = ModelFile(model: wide, sensors: (0..<10).map { "s\($0)" }, scaler: try MinMaxScaler(min: .init(repeating: 0, count: 10), max: .init(repeating: 1, count: 10)),
                             loss: .mae, calibration: Calibration(sensorThreshold: .init(repeating: 0.1, count: 10), windowThreshold: 0.1, percentile: 99, method: "p"),
                             reference: ReferenceCycle(values: .init(repeating: 0, count: 5_000_000), length: 500_000, dtwThreshold: .init(repeating: 1, count: 10), band: 3),
                             createdAt: "", trainerVersion: "")
        #expect(throws: ModelFileError.invalid("/reference/cycle", "500000 rows of 10 sensors hold more than 4194304 values", path: "x")) {
            try many.validate(path: "x")
        }
        f.calibration.windowThreshold = 0
        #expect(throws: ModelFileError.self) { try f.validate(path: "x") }
        f = ModelFileTests.sample()
        f.sensors[2] = ""
        #expect(throws: ModelFileError.self) { try f.validate(path: "x") }
    }

    @Test func scorerKeepsItsWorkspaceWithinBudget() throws {
        let m = LSTMAutoencoder(window: 30, sensors: 3, hidden: 8, seed: 1)
        let perWindow = try #require(WindowScorer.workspacePerWindow(m))
        #expect(perWindow == 5 * 31 * 3 + 28 * 31 * 8)
        let small = WindowScorer(model: m, chunk: 128, workspaceBudget: 2 * perWindow + 1)
        let large = WindowScorer(model: m, chunk: 128)
        #expect(small.chunk == 2 && large.chunk == 128)
        let windows = randomValues(5 * 30 * 3, seed: 2).map(Float.init)
        #expect(relativeError(small.score(windows).scores, large.score(windows).scores) < 1e-5)
        // The largest architecture the limits allow fits one window in well under the budget.
        let widest = try #require(WindowScorer.workspacePerWindow(try LSTMAutoencoder(window: 2_000, sensors: 12, hidden: 500,
                                                                                    parameters: [Float](repeating: 0, count: ParameterLayout(sensors: 12, hidden: 500).count))))
        #expect(widest < WindowScorer.workspaceBudget / 2)
    }
}
