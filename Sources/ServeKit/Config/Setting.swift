import Foundation

/// A setting's value, as every source gives it once read.
enum SettingValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int), double(Double), string(String), bool(Bool), list([String])

    var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
        case .string(let v): return v
        case .bool(let v): return v ? "true" : "false"
        case .list(let v): return v.joined(separator: ",")
        }
    }
}

/// One setting of the server: its key in a config file (`sensor.k_warn`), its environment
/// variable (`VERTAC_SENSOR_K_WARN`), what it accepts, its default and where it goes in
/// ``ServerSettings``.
struct Setting: Sendable {
    /// What a setting accepts; every source is checked against it.
    enum Kind: Sendable {
        case int(ClosedRange<Int>)
        case double(ClosedRange<Double>)
        case string(maxLength: Int)
        case bool
        case choice([String])
        /// A comma-separated list in the environment and on the command line, a list in a file.
        case list(maxCount: Int)
    }

    /// Dotted, lowercase with underscores: the file's nesting and the environment variable's name.
    let key: String
    let kind: Kind
    /// Nil: not set unless a source sets it (an optional setting).
    let defaultValue: SettingValue?
    let help: String
    /// Shown as `<secret>` by `config print` (a database URL may carry a password).
    var secret = false
    /// Checks a value beyond its kind (a URL's scheme, a folder's contents); returns what is wrong.
    var check: (@Sendable (SettingValue) -> String?)? = nil
    let apply: @Sendable (inout ServerSettings, SettingValue) -> Void

    var components: [String] { key.split(separator: ".").map(String.init) }
    var environmentName: String { "VERTAC_" + key.replacingOccurrences(of: ".", with: "_").uppercased() }

    /// What the kind accepts, for errors and the sample file.
    var accepts: String {
        switch kind {
        case .int(let r): return "an integer from \(r.lowerBound) to \(r.upperBound)"
        case .double(let r): return "a number from \(SettingValue.double(r.lowerBound)) to \(SettingValue.double(r.upperBound))"
        case .string(let n): return "text of at most \(n) characters"
        case .bool: return "true or false"
        case .choice(let c): return "one of " + c.joined(separator: ", ")
        case .list(let n): return "a list of at most \(n) items"
        }
    }

    /// Nil when `value` is acceptable, else what is wrong with it.
    func problem(with value: SettingValue) -> String? {
        let fits: Bool
        switch (kind, value) {
        case (.int(let r), .int(let v)): fits = r.contains(v)
        case (.double(let r), .double(let v)): fits = v.isFinite && r.contains(v)
        case (.string(let n), .string(let v)): fits = !v.isEmpty && v.count <= n && !v.contains("\0")
        case (.bool, .bool): fits = true
        case (.choice(let c), .string(let v)): fits = c.contains(v)
        case (.list(let n), .list(let v)): fits = v.count <= n
        default: fits = false
        }
        guard fits else { return "expected \(accepts)" + (secret ? "" : ", got \"\(value)\"") }
        return check?(value)
    }
}

/// Where a setting's value came from, in order of precedence (a flag wins).
enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case file(String)
    case defaultValue

    var description: String {
        switch self {
        case .flag(let f): return "flag \(f)"
        case .environment(let v): return "environment \(v)"
        case .file(let p): return "file \(p)"
        case .defaultValue: return "default"
        }
    }
}

/// A setting as the server uses it: its value (nil: unset) and where that came from.
struct ResolvedSetting: Sendable {
    let setting: Setting
    let value: SettingValue?
    let source: SettingSource
}

/// A bad setting: names the key, the source and what is wrong; nothing starts with it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let key: String
    let source: SettingSource?
    let message: String

    public var description: String {
        if let source { return "\(key) (\(source)): \(message)" }
        return "\(key): \(message)"
    }
}
