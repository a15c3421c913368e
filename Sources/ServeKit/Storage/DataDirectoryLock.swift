import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One server per data directory: a `vertac-serve` holds an exclusive lock on `vertac.lock` in
/// its data directory while it runs, and a second one started on the same directory stops
/// after a short wait (a restart right after SIGTERM waits for the previous server to stop),
/// saying which process holds it and what to use instead. On SQLite the directory holds the
/// store, which serves one server (two would each restore and score every stream); several
/// servers share one PostgreSQL database (`--database`), each with a directory of its own for
/// its node id (``NodeIdentity``).
///
/// The lock is the kernel's (`flock`), so it goes away with the process however that ends —
/// `kill -9` included; nothing stale is left to clean up. Short-lived commands on the same
/// directory (`vertac-serve token create`) do not take it.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32
    public let path: String

    public struct Held: Error, CustomStringConvertible {
        public let directory: String
        /// The process holding the lock, as it wrote it (nil when it could not be read).
        public let pid: Int32?
        public var description: String {
            "another vertac-serve\(pid.map { " (pid \($0))" } ?? "") is serving the data directory \(directory): "
                + "each server needs its own, and the embedded SQLite store serves one server. Stop that one, give this one "
                + "another --data-dir, or run several servers on one PostgreSQL database (--database postgresql://…)"
        }
    }

    /// How long a server waits for the one before it on its directory to stop: a restart right
    /// after SIGTERM finds the previous server still finishing its work.
    public static let wait: Duration = .seconds(15)

    /// Takes the lock of `directory` (which must exist), waiting up to `wait` for the server
    /// holding it to stop (`waiting` is told once, with its pid), or throws ``Held``.
    public static func acquire(directory: String, wait: Duration = DataDirectoryLock.wait,
                               waiting: (Int32?) -> Void = { _ in }) throws -> DataDirectoryLock {
        let path = (directory as NSString).appendingPathComponent("vertac.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey:
                "cannot open \(path): \(String(cString: strerror(errno)))"])
        }
        func holder() -> Int32? {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            return n > 0 ? Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        }
        let deadline = ContinuousClock.now + wait
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else {
                let pid = holder()
                close(fd)
                throw Held(directory: directory, pid: pid)
            }
            if !told { waiting(holder()); told = true }
            usleep(100_000)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return DataDirectoryLock(fd: fd, path: path)
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }
}
