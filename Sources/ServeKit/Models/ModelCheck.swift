import Foundation
import Model
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The child side of ``IsolatedModelReader``: `vertac-serve model-check FILE` limits its own
/// resources, reads the file with the HDF5 library and writes a ``ModelTransfer`` document to
/// standard output. Whatever the file does to the library — crash, hang, allocate without end —
/// happens here, in a process that only lives for one file.
public enum ModelCheck {
    /// Exit status when the file was read and checked: the model is on standard output.
    static let accepted: Int32 = 0
    /// Exit status when the file was refused: the reason is on standard output.
    static let refused: Int32 = 3
    /// Exit status when the limits could not be applied (nothing was read).
    static let unlimited: Int32 = 70

    /// What a test makes the child do instead of reading the file. The server passes one only
    /// when its settings say so (tests); no request can.
    public enum Simulation: String, CaseIterable, Sendable {
        /// Raise SIGSEGV.
        case crash
        /// Sleep past any deadline.
        case hang
        /// Burn CPU until the CPU limit stops it.
        case spin
        /// Print a document whose arrays do not match the shapes it declares.
        case lie
        /// Print without end.
        case flood
    }

    /// Runs the check and returns the process's exit status.
    ///
    /// - Parameters:
    ///   - path: the model file.
    ///   - memoryBytes: address-space limit (RLIMIT_AS).
    ///   - cpuSeconds: CPU-time limit (RLIMIT_CPU; SIGXCPU ends the process).
    ///   - simulate: misbehave instead (tests).
    public static func run(path: String, memoryBytes: Int, cpuSeconds: Int, simulate: Simulation? = nil) -> Int32 {
        guard limit(memoryBytes: memoryBytes, cpuSeconds: cpuSeconds) else {
            FileHandle.standardError.write(Data("model-check: cannot set resource limits\n".utf8))
            return unlimited
        }
        if let simulate { return misbehave(simulate) }
        do {
            let file = try ModelFile.read(from: path)
            return writeAll(try ModelTransfer.encode(file)) ? accepted : unlimited
        } catch let e as ModelFileError {
            return writeAll((try? ModelTransfer.encode(rejected: e.reason)) ?? Data()) ? refused : unlimited
        } catch {
            return writeAll((try? ModelTransfer.encode(rejected: "\(error)")) ?? Data()) ? refused : unlimited
        }
    }

    private static func limit(memoryBytes: Int, cpuSeconds: Int) -> Bool {
        // Never above a hard limit already in force (ulimit, systemd): only root may raise one.
        func set(_ resource: Int32, _ soft: Int, _ hard: Int) -> Bool {
            var r = rlimit()
            #if os(Linux)
            let id = __rlimit_resource_t(resource)
            #else
            let id = resource
            #endif
            guard getrlimit(id, &r) == 0 else { return false }
            let ceiling = r.rlim_max
            r.rlim_max = min(rlim_t(hard), ceiling)
            r.rlim_cur = min(rlim_t(soft), r.rlim_max)
            return setrlimit(id, &r) == 0
        }
        #if os(Linux)
        let (core, cpu, addressSpace) = (Int32(RLIMIT_CORE.rawValue), Int32(RLIMIT_CPU.rawValue), Int32(RLIMIT_AS.rawValue))
        #else
        let (core, cpu, addressSpace) = (RLIMIT_CORE, RLIMIT_CPU, RLIMIT_AS)
        #endif
        // No core dumps of crashed checks; SIGXCPU at the soft CPU limit, SIGKILL a second later.
        return set(core, 0, 0) && set(cpu, cpuSeconds, cpuSeconds + 1) && set(addressSpace, memoryBytes, memoryBytes)
    }

    /// Writes all of `data` to standard output.
    private static func writeAll(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(1, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
    }

    private static func misbehave(_ s: Simulation) -> Int32 {
        switch s {
        case .crash:
            // As a fault in the HDF5 library would end: no handler between the signal and the end.
            signal(SIGSEGV, SIG_DFL)
            raise(SIGSEGV)
            return accepted
        case .hang:
            while true { sleep(1_000) }
        case .spin:
            var x: UInt64 = 1
            while x != 0 { x = x &* 6_364_136_223_846_793_005 &+ 1 }
            return accepted
        case .lie:
            let b = ModelTransfer.Body(window: 30, hiddenSize: 2, loss: "mae", createdAt: "", trainerVersion: "", sensors: ["a"],
                                       percentile: 99, method: "", band: nil, windows: 0, cycles: 0, epochs: 0, seconds: 0, dataSHA256: "",
                                       arrays: ["encoder/weight_ih_l0": .init(shape: [8, 1], [])])
            return writeAll((try? JSONEncoder().encode(ModelTransfer.Envelope(format: ModelTransfer.format, model: b))) ?? Data()) ? accepted : unlimited
        case .flood:
            let block = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
            while writeAll(block) {}
            return unlimited
        }
    }
}
