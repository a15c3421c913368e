import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run of a short-lived child process: spawned with no inherited descriptors beyond its
/// standard ones and default signal handling, its output collected without deadlock (both pipes
/// are drained together), its life bounded by a wall-clock deadline and its output by a size
/// cap, and always reaped. Blocking: run it off the cooperative thread pool.
struct ChildProcess {
    enum Ending: Equatable {
        case exited(Int32)
        case signalled(Int32)
        /// Killed at the deadline.
        case timedOut
        /// Killed when its standard output passed the cap.
        case outputTooLarge
    }

    struct Outcome {
        var ending: Ending
        var stdout: [UInt8]
        /// The start of its standard error (at most ``stderrCap`` bytes).
        var stderr: String
        /// From spawning to reaping.
        var seconds: Double
    }

    static let stderrCap = 16 << 10

    struct SpawnError: Error, CustomStringConvertible {
        let executable: String
        let code: Int32
        var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    /// Runs `executable` with `arguments` (argv[0] is `name`), the environment `environment`
    /// (nothing inherited) and standard input from /dev/null.
    ///
    /// - Parameters:
    ///   - timeout: seconds until the child is killed (SIGKILL).
    ///   - maxOutput: most bytes of standard output; the child is killed beyond it.
    ///   - started: called with the child's pid once it runs (to kill it on cancellation).
    /// - Throws: ``SpawnError`` when it cannot be started.
    static func run(_ executable: String, name: String, arguments: [String], environment: [String] = [], timeout: Double,
                    maxOutput: Int, started: (pid_t) -> Void = { _ in }) throws -> Outcome {
        let began = ContinuousClock.now
        let deadline = began + .milliseconds(Int64(timeout * 1000))
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { throw SpawnError(executable: executable, code: errno) }
        guard pipe(&errPipe) == 0 else {
            let e = errno
            outPipe.forEach { close($0) }
            throw SpawnError(executable: executable, code: e)
        }
        // Not inherited by other children spawned meanwhile (pipe2 is not visible to Swift; the
        // spawn below also closes every descriptor above 2 in the child).
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let pid: pid_t
        do {
            defer { close(outPipe[1]); close(errPipe[1]) }
            pid = try spawn(executable, argv: [name] + arguments, environment: environment, stdout: outPipe[1], stderr: errPipe[1])
        } catch {
            close(outPipe[0])
            close(errPipe[0])
            throw error
        }
        started(pid)
        var (out, err, killedFor) = drain(stdout: outPipe[0], stderr: errPipe[0], deadline: deadline, maxOutput: maxOutput)
        if killedFor != nil { kill(pid, SIGKILL) }
        let status = reap(pid, deadline: deadline, killedFor: &killedFor)
        let ending: Ending
        if let killedFor {
            ending = killedFor
        } else if let status {
            ending = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        } else {
            ending = .exited(-1)   // not waitable (SIGCHLD ignored): the status is unknown
        }
        if out.count > maxOutput { out.removeAll() }
        if err.count > stderrCap { err.removeSubrange(stderrCap...) }
        let took = ContinuousClock.now - began
        return Outcome(ending: ending, stdout: out, stderr: String(decoding: err, as: UTF8.self),
                       seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
    }

    private static func spawn(_ executable: String, argv: [String], environment: [String], stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Descriptors the server holds (sockets, the database) must not reach the child even
        // when one lacks FD_CLOEXEC. glibc ≥ 2.34 closes them all in one action; Swift does not
        // see its declaration (it needs _GNU_SOURCE), so it is looked up by name.
        if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(sym, to: CloseFrom.self)(&actions, 3)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The server ignores or handles some signals (SIGTERM, SIGPIPE); the child starts with
        // default dispositions and nothing blocked, so SIGXCPU and SIGKILL end it.
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs = argv.map { strdup($0) }, cEnvironment = environment.map { strdup($0) }
        defer { (cArgs + cEnvironment).forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, &attributes, cArgs + [nil], cEnvironment + [nil])
        guard rc == 0 else { throw SpawnError(executable: executable, code: rc) }
        return pid
    }

    /// Reads both pipes until both close, the deadline passes or stdout passes the cap; closes them.
    private static func drain(stdout: Int32, stderr: Int32, deadline: ContinuousClock.Instant,
                              maxOutput: Int) -> ([UInt8], [UInt8], Ending?) {
        var out: [UInt8] = [], err: [UInt8] = []
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        defer { for f in fds where f.fd >= 0 { close(f.fd) } }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while fds.contains(where: { $0.fd >= 0 }) {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return (out, err, .timedOut) }
            let ms = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&fds, nfds_t(fds.count), min(ms, 1_000))
            if ready < 0 && errno != EINTR { return (out, err, .timedOut) }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if i == 0 { out.append(contentsOf: chunk[0..<n]) } else if err.count < stderrCap { err.append(contentsOf: chunk[0..<n]) }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(fds[i].fd)
                    fds[i].fd = -1
                }
            }
            if out.count > maxOutput { return (out, err, .outputTooLarge) }
        }
        return (out, err, nil)
    }

    /// Waits for the child; kills it at the deadline (a child may close its output and linger).
    /// Returns its wait status, or `nil` when it cannot be waited for.
    private static func reap(_ pid: pid_t, deadline: ContinuousClock.Instant, killedFor: inout Ending?) -> Int32? {
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, killedFor == nil ? WNOHANG : 0)
            if r == pid { return status }
            if r < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                killedFor = .timedOut
            } else {
                usleep(2_000)
            }
        }
    }
}
