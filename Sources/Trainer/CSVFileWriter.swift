import Foundation
import TrainerKit

/// Writes a CSV file line by line through a buffer, to a temporary name beside it that becomes
/// the file only when ``finish()`` is called: a run that fails leaves no half-written output.
final class CSVFileWriter {
    let path: String
    private let partial: String
    private let handle: FileHandle
    private var buffer = ""
    private var open = true

    init(path: String, header: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial").path
        guard FileManager.default.createFile(atPath: partial, contents: nil),
              let handle = FileHandle(forWritingAtPath: partial) else {
            throw CSVError(path: path, message: "cannot be written")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
        try line(header)
    }

    deinit {
        if open {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partial)
        }
    }

    /// Appends one line (without its line break).
    func line(_ text: String) throws {
        buffer += text
        buffer += "\n"
        if buffer.utf8.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        do { try handle.write(contentsOf: Data(buffer.utf8)) } catch { throw CSVError(path: path, message: "cannot be written: \(error)") }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and puts the file in place.
    func finish() throws {
        try flush()
        try? handle.close()
        open = false
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            throw CSVError(path: path, message: "cannot be written: \(reason)")
        }
    }
}
