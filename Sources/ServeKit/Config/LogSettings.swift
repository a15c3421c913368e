import Foundation
import Logging
import Synchronization

/// How the server logs: text or JSON lines on standard error, and the least severe level.
public struct LogSettings: Sendable, Equatable {
    public enum Format: String, Sendable { case text, json }
    public var format = Format.text
    public var level = Logger.Level.info

    static let levels = Logger.Level.allCases.map(\.rawValue)

    /// Sets up swift-log for the whole process; call once, before the first logger is made.
    public func bootstrap() {
        let (format, level) = (format, level)
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == .json ? JSONLogHandler(label: label, sink: .standardError) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// One JSON object per log line: `time` (ISO 8601, UTC, milliseconds), `level`, `label`,
/// `message`, and the metadata's keys at the top level beside them (under `metadata` when a key
/// would clash), for log collectors that index fields.
struct JSONLogHandler: LogHandler {
    /// Where lines go; one write per line, so lines from several threads never interleave.
    final class Sink: Sendable {
        let write: @Sendable (String) -> Void
        init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

        static let standardError = Sink { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    let label: String
    let sink: Sink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, sink: Sink) {
        self.label = label
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let reserved: Set<String> = ["time", "level", "label", "message", "metadata"]

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        var object: [String: Any] = [
            "time": Self.timestamp(Date()), "level": event.level.rawValue, "label": label, "message": "\(event.message)",
        ]
        var clashing: [String: Any] = [:]
        for (key, value) in all {
            if Self.reserved.contains(key) { clashing[key] = Self.json(value) } else { object[key] = Self.json(value) }
        }
        if !clashing.isEmpty { object["metadata"] = clashing }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        sink.write(String(decoding: data, as: UTF8.self) + "\n")
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let a): return a.map(json)
        case .dictionary(let d): return d.mapValues(json)
        }
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
