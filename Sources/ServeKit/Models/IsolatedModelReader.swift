import Foundation
import Model
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the server reads model files it did not write.
struct ModelReaderSettings: Sendable {
    /// The executable run as `EXECUTABLE model-check FILE`; `nil` runs the server's own
    /// executable (/proc/self/exe). Tests, whose process is the test runner, name the built
    /// `vertac-serve`.
    var executable: String?
    /// The child's address-space limit (RLIMIT_AS).
    var memoryBytes = 1 << 30
    /// The child's CPU-time limit (RLIMIT_CPU).
    var cpuSeconds = 10
    /// The child is killed after this many seconds (the setting `model_reader.cpu_seconds` moves
    /// it to leave the CPU limit room: ``timeout(forCPUSeconds:)``).
    var timeout = 15.0

    static func timeout(forCPUSeconds cpu: Int) -> Double { max(15, Double(cpu) * 1.5 + 5) }
    /// Most bytes the child may print: a model within ``ModelFileLimits`` in base64 with room to spare.
    var maxOutputBytes = 96 << 20
    /// Where the private temporary directories go; `nil` is the system's.
    var temporaryDirectory: String?
    /// Makes the child misbehave instead of reading (tests).
    var simulate: ModelCheck.Simulation?
    init() {}
}

/// Why a model could not be read in isolation.
struct ModelReaderError: Error, CustomStringConvertible {
    enum Kind: Equatable {
        /// The child read the file and refused it, naming why.
        case refused(String)
        /// The child died of a signal.
        case crashed(signal: Int32)
        /// The child was killed at the wall-clock deadline.
        case timedOut(seconds: Double)
        /// The child used up its CPU time (SIGXCPU).
        case outOfCPUTime(seconds: Int)
        /// The child printed more than the cap.
        case outputTooLarge(bytes: Int)
        /// The child exited with an unexpected status.
        case failed(status: Int32, detail: String)
        /// What the child printed is not a consistent, valid model.
        case malformed(String)
        /// The child could not be started, limited or given its file: the server's fault.
        case unavailable(String)
    }

    let kind: Kind

    /// Whether the file is at fault (a 422), rather than the server (a 500).
    var isInvalidModel: Bool {
        if case .unavailable = kind { return false }
        return true
    }

    var description: String {
        switch kind {
        case .refused(let reason), .malformed(let reason): return reason
        case .crashed(let signal): return "the model reader crashed (signal \(signal))"
        case .timedOut(let s): return "the model reader timed out after \(String(format: "%g", s)) s"
        case .outOfCPUTime(let s): return "the model reader timed out after \(s) s of CPU time"
        case .outputTooLarge(let n): return "the model reader printed more than \(n) bytes"
        case let .failed(status, detail): return "the model reader failed (exit status \(status))" + (detail.isEmpty ? "" : ": \(detail)")
        case .unavailable(let m): return "the model reader is unavailable: \(m)"
        }
    }
}

/// Reads model bytes without parsing them in this process: they go to a private temporary file
/// (mode 0600 in a directory of mode 0700, removed afterwards whatever happens), a child process
/// (``ModelCheck``) reads them with the HDF5 library under memory, CPU-time and wall-clock limits,
/// and prints the model, which is decoded here in pure Swift and checked again.
struct IsolatedModelReader: Sendable {
    let settings: ModelReaderSettings

    init(_ settings: ModelReaderSettings = .init()) { self.settings = settings }

    /// The executable the child runs.
    var executable: String {
        if let e = settings.executable { return e }
        #if os(Linux)
        // The running image, even if its file was replaced since the server started.
        return "/proc/self/exe"
        #else
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
        #endif
    }

    /// Reads and checks a model.
    ///
    /// - Parameter name: how errors name the file.
    /// - Throws: ``ModelReaderError``: ``ModelReaderError/isInvalidModel`` for a file that is
    ///   refused, crashes or hangs the reader, or makes it print nonsense.
    func read(_ bytes: Data, name: String) async throws -> ModelFile {
        try await run(bytes, name: name).model.get()
    }

    /// Reads and checks a model; also says how long the child lived (nil when it never ran).
    func run(_ bytes: Data, name: String) async -> (model: Result<ModelFile, ModelReaderError>, childSeconds: Double?) {
        let pid = ChildPid()
        let outcome: Result<ChildProcess.Outcome, ModelReaderError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Up to `timeout` seconds of blocking: a thread of its own, not the cooperative pool's.
                let thread = Thread { continuation.resume(returning: runChild(bytes, pid: pid)) }
                thread.name = "vertac-model-check"
                thread.start()
            }
        } onCancel: {
            pid.terminate()
        }
        switch outcome {
        case .failure(let e): return (.failure(e), nil)
        case .success(let o):
            do { return (.success(try interpret(o, name: name)), o.seconds) } catch let e as ModelReaderError {
                return (.failure(e), o.seconds)
            } catch {
                return (.failure(ModelReaderError(kind: .malformed("\(error)"))), o.seconds)
            }
        }
    }

    private func runChild(_ bytes: Data, pid: ChildPid) -> Result<ChildProcess.Outcome, ModelReaderError> {
        let base = settings.temporaryDirectory ?? NSTemporaryDirectory()
        var template = Array(((base as NSString).appendingPathComponent("vertac-model-XXXXXX")).utf8CString)
        guard let made = mkdtemp(&template) else {
            return .failure(ModelReaderError(kind: .unavailable("cannot create a temporary directory in \(base)")))
        }
        let dir = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = (dir as NSString).appendingPathComponent("model.h5")
        guard Self.writePrivate(bytes, to: path) else {
            return .failure(ModelReaderError(kind: .unavailable("cannot write a temporary file in \(dir)")))
        }
        var arguments = ["model-check", path, "--memory-bytes", "\(settings.memoryBytes)", "--cpu-seconds", "\(settings.cpuSeconds)"]
        if let s = settings.simulate { arguments += ["--simulate", s.rawValue] }
        do {
            defer { pid.clear() }
            // Nothing of the server's environment reaches the child (no HDF5_* settings, no
            // plugin paths). Swift's crash backtracer is off: it would spend seconds of the
            // child's limits symbolicating a crash that is reported by its signal anyway.
            return .success(try ChildProcess.run(executable, name: "vertac-serve", arguments: arguments,
                                                 environment: ["SWIFT_BACKTRACE=enable=no"], timeout: settings.timeout,
                                                 maxOutput: settings.maxOutputBytes, started: pid.set))
        } catch {
            return .failure(ModelReaderError(kind: .unavailable("\(error)")))
        }
    }

    /// Creates `path` (which must not exist) readable by this user only and writes `bytes`.
    private static func writePrivate(_ bytes: Data, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
    }

    private func interpret(_ o: ChildProcess.Outcome, name: String) throws -> ModelFile {
        func fail(_ k: ModelReaderError.Kind) -> ModelReaderError { ModelReaderError(kind: k) }
        switch o.ending {
        case .timedOut: throw fail(.timedOut(seconds: settings.timeout))
        case .outputTooLarge: throw fail(.outputTooLarge(bytes: settings.maxOutputBytes))
        case .signalled(SIGXCPU): throw fail(.outOfCPUTime(seconds: settings.cpuSeconds))
        case .signalled(let s): throw fail(.crashed(signal: s))
        case .exited(ModelCheck.unlimited): throw fail(.unavailable("the model reader could not limit itself: \(o.stderr)"))
        case .exited(let status) where status != ModelCheck.accepted && status != ModelCheck.refused:
            throw fail(.failed(status: status, detail: o.stderr.split(separator: "\n").first.map(String.init) ?? ""))
        case .exited(let status):
            let verdict: ModelTransfer.Verdict
            do { verdict = try ModelTransfer.decode(Data(o.stdout), path: name) } catch let e as ModelFileError {
                throw fail(.malformed(e.reason))
            } catch {
                throw fail(.malformed("\(error)"))
            }
            switch (verdict, status) {
            case (.model(let file), ModelCheck.accepted): return file
            case (.rejected(let reason), ModelCheck.refused): throw fail(.refused(reason))
            default: throw fail(.malformed("the model reader's exit status \(status) contradicts what it printed"))
            }
        }
    }

}

/// The running child's pid, for killing it when the request is cancelled. (Between the child
/// being reaped and ``clear()`` a cancellation could signal a recycled pid; the window is a few
/// instructions long.)
private final class ChildPid: @unchecked Sendable {
    private let lock = NSLock()
    private var pid: pid_t?
    private var cancelled = false

    func set(_ p: pid_t) {
        lock.withLock {
            pid = p
            if cancelled { kill(p, SIGKILL) }
        }
    }

    func clear() { lock.withLock { pid = nil } }

    func terminate() {
        lock.withLock {
            cancelled = true
            if let pid { kill(pid, SIGKILL) }
        }
    }
}
