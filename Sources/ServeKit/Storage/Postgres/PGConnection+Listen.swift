import CLibPQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// LISTEN/NOTIFY on a connection of its own (``ClusterBus``): the connection is used by one
/// thread only, which waits on its socket.
extension PGConnection {
    /// A notification as PostgreSQL delivered it.
    struct Notification: Sendable, Equatable {
        let channel: String
        let payload: String
    }

    /// Waits up to `milliseconds` for notifications on the channels this connection listens to
    /// and returns those that arrived (none on a timeout).
    ///
    /// - Throws: ``PGError`` when the connection is lost.
    func notifications(waitingUpTo milliseconds: Int32) throws -> [Notification] {
        var out = drainNotifications()
        guard out.isEmpty else { return out }
        var fd = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        guard fd.fd >= 0 else { throw PGError(message: "connection lost (no socket)", sqlState: nil) }
        let ready = poll(&fd, 1, milliseconds)
        if ready < 0 && errno != EINTR { throw PGError(message: "poll failed: \(String(cString: strerror(errno)))", sqlState: nil) }
        if ready > 0 {
            guard PQconsumeInput(conn) == 1 else {
                throw PGError(message: "connection lost: \(String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines))",
                              sqlState: nil)
            }
            out = drainNotifications()
        }
        return out
    }

    private func drainNotifications() -> [Notification] {
        var out: [Notification] = []
        while let n = PQnotifies(conn) {
            out.append(Notification(channel: String(cString: n.pointee.relname), payload: String(cString: n.pointee.extra)))
            PQfreemem(n)
        }
        return out
    }
}
