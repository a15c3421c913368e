import Foundation

/// A server's node id, kept in `DATA-DIR/node.id` so that a restarted server is the same node:
/// its leases are still its own, and it takes its streams back at once instead of after they
/// expire. Two running servers never share a data directory (``DataDirectoryLock``), so never a
/// node id.
enum NodeIdentity {
    static func load(dataDirectory: String) throws -> String {
        let path = (dataDirectory as NSString).appendingPathComponent("node.id")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) { return id }
        }
        let id = UUID().uuidString.lowercased()
        guard FileManager.default.createFile(atPath: path, contents: Data((id + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ServiceError(.cannotWrite, "cannot write the node id to \(path)")
        }
        return id
    }
}
