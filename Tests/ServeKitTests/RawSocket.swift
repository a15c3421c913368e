import Foundation

/// A plain TCP connection to a test server, for what HTTP clients will not send: half a request
/// head, a head of 100 KB, many idle connections.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Everything the server sends until it closes the connection or the read times out — read
    /// on a dispatch thread: a blocking read on one of the few cooperative threads would starve
    /// the in-process server it waits for.
    func readAll() async -> String {
        await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: self.readAllBlocking()) } }
    }

    private func readAllBlocking() -> String {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first bytes the server sends (on a dispatch thread, as ``readAll()``).
    func readSome() async -> String {
        await withCheckedContinuation { c in
            DispatchQueue.global().async {
                var buf = [UInt8](repeating: 0, count: 4_096)
                let n = recv(self.fd, &buf, buf.count, 0)
                c.resume(returning: String(decoding: buf[0..<max(0, n)], as: UTF8.self))
            }
        }
    }
}

/// The status code and JSON body of a raw HTTP answer.
func parseRaw(_ text: String) -> (status: Int, headers: String, body: [String: Any]) {
    let parts = text.components(separatedBy: "\r\n\r\n")
    let statusLine = parts.first?.components(separatedBy: "\r\n").first ?? ""
    let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    let body = parts.count > 1 ? parts[1...].joined(separator: "\r\n\r\n") : ""
    let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    return (code, parts.first ?? "", object)
}
