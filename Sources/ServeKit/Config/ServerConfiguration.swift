import Configuration
import Foundation
import SystemPackage
import Yams

/// The server's settings, read from a config file, the environment and flags: a flag wins over
/// an environment variable, which wins over the file, which wins over the default. Every source
/// is checked against ``ServerSettings/keys`` at start, and a bad value stops the start with an
/// error naming its key and source; a key in the file that is not a setting is an error too (a
/// misspelt key would otherwise be ignored in silence).
///
/// Built on swift-configuration's providers (YAML and JSON files, environment variables).
public struct ServerConfiguration: Sendable {
    /// The settings the server runs with.
    public let settings: ServerSettings
    /// Every setting with its value and source, for `vertac-serve config print`.
    let resolved: [ResolvedSetting]

    /// Reads the settings.
    ///
    /// - Parameters:
    ///   - file: a `.yaml`, `.yml` or `.json` config file; nil: `$VERTAC_CONFIG`, else none.
    ///   - environment: the process's environment (tests pass their own).
    ///   - flags: key → value given on the command line, with the flag's name for messages.
    /// - Throws: ``ConfigurationError`` naming the first bad key.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            flags: [String: (value: String, flag: String)] = [:]) async throws -> ServerConfiguration {
        let keys = ServerSettings.keys
        for key in flags.keys where !keys.contains(where: { $0.key == key }) {
            throw ConfigurationError(key: key, source: flags[key].map { .flag($0.flag) }, message: "no such setting" + suggestion(for: key))
        }
        let path = file ?? environment["VERTAC_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        // Each source: its provider, its name in messages, whether its keys are VERTAC_ names, and
        // the text it gave for a setting (for messages; a file's values are typed already).
        var sources: [(provider: any ConfigProvider, name: (Setting) -> SettingSource, prefixed: Bool, raw: (Setting) -> String?,
                       sets: (Setting) -> Bool)] = []
        let byEnvironmentName = Dictionary(uniqueKeysWithValues: keys.map { ($0.environmentName, $0) })
        let flagValues = Dictionary(uniqueKeysWithValues: flags.map { key, v in ("VERTAC_" + key.replacingOccurrences(of: ".", with: "_").uppercased(), v.value) })
        sources.append((EnvironmentVariablesProvider(environmentVariables: flagValues), { s in .flag(flags[s.key]?.flag ?? "--set \(s.key)") }, true,
                        { s in flags[s.key]?.value }, { _ in true }))
        // An empty variable is unset (`Environment=VERTAC_DATABASE_URL=` in a unit, `-e VAR=`).
        let known = environment.filter { byEnvironmentName[$0.key] != nil && !$0.value.isEmpty }
        sources.append((EnvironmentVariablesProvider(environmentVariables: known), { s in .environment(s.environmentName) }, true,
                        { s in known[s.environmentName] }, { _ in true }))
        if let path, let (provider, set) = try await fileProvider(path, keys: keys) {
            sources.append((provider, { _ in .file(path) }, false, { _ in nil }, { set.contains($0.key) }))
        }

        var settings = ServerSettings()
        var resolved: [ResolvedSetting] = []
        for setting in keys {
            var found: (SettingValue, SettingSource)?
            for source in sources where source.sets(setting) {
                let key = AbsoluteConfigKey((source.prefixed ? ["vertac"] : []) + setting.components)
                if let value = try lookup(setting, key: key, in: source.provider, source: source.name(setting), raw: source.raw(setting)) {
                    found = (value, source.name(setting))
                    break
                }
            }
            let (value, source) = found ?? (setting.defaultValue, .defaultValue)
            if let value {
                if let problem = setting.problem(with: value) {
                    throw ConfigurationError(key: setting.key, source: source, message: problem)
                }
                setting.apply(&settings, value)
            }
            resolved.append(ResolvedSetting(setting: setting, value: value, source: source))
        }
        settings.configFile = path
        return ServerConfiguration(settings: settings, resolved: resolved)
    }

    /// One setting's value from one source, converted to its kind; nil when the source does not
    /// set it.
    private static func lookup(_ setting: Setting, key: AbsoluteConfigKey, in provider: any ConfigProvider, source: SettingSource,
                               raw: String?) throws -> SettingValue? {
        func read(_ type: ConfigType) throws -> ConfigContent? { try provider.value(forKey: key, type: type).value?.content }
        do {
            let content: ConfigContent?
            switch setting.kind {
            case .int: content = try read(.int)
            case .double:
                do { content = try read(.double) } catch { content = try read(.int) }
            case .string, .choice: content = try read(.string)
            case .bool: content = try read(.bool)
            case .list:
                do { content = try read(.stringArray) } catch { content = try read(.string) }
            }
            switch content {
            case nil: return nil
            case .int(let v): return if case .double = setting.kind { .double(Double(v)) } else { .int(v) }
            case .double(let v): return .double(v)
            case .string(let v):
                if case .list = setting.kind { return .list(v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
                return .string(v)
            case .bool(let v): return .bool(v)
            case .stringArray(let v): return .list(v)
            default: return nil
            }
        } catch {
            throw ConfigurationError(key: setting.key, source: source, message: "expected \(setting.accepts)" + (raw.map { setting.secret ? "" : ", got \"\($0)\"" } ?? ""))
        }
    }

    /// The file's provider, after checking that every key in it is a setting; nil for a file
    /// that sets nothing (empty, or only comments).
    private static func fileProvider(_ path: String, keys: [Setting]) async throws -> (any ConfigProvider, Set<String>)? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: "config", source: .file(path), message: "cannot read the file")
        }
        guard data.count <= 1 << 20 else { throw ConfigurationError(key: "config", source: .file(path), message: "larger than 1 MiB") }
        let json = path.lowercased().hasSuffix(".json")
        let tree: Any?
        do {
            tree = json ? try JSONSerialization.jsonObject(with: data) : try Yams.load(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw ConfigurationError(key: "config", source: .file(path), message: "not valid \(json ? "JSON" : "YAML"): \(error)")
        }
        guard tree == nil || tree is [String: Any] else {
            throw ConfigurationError(key: "config", source: .file(path), message: "expected a mapping of settings at the top")
        }
        let names = Set(keys.map(\.key))
        let set = flatKeys(tree as? [String: Any] ?? [:])
        for key in set where !names.contains(key) {
            throw ConfigurationError(key: key, source: .file(path), message: "no such setting" + suggestion(for: key))
        }
        guard !set.isEmpty else { return nil }
        do {
            if json { return (try await FileProvider<JSONSnapshot>(filePath: FilePath(path)), Set(set)) }
            return (try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)), Set(set))
        } catch {
            throw ConfigurationError(key: "config", source: .file(path), message: "\(error)")
        }
    }

    /// The dotted keys a file's tree sets: nested mappings are groups, anything else a value; a
    /// key with no value (`model:`, `cluster:` with its keys commented out) sets nothing.
    private static func flatKeys(_ tree: [String: Any], prefix: String = "") -> [String] {
        tree.sorted { $0.key < $1.key }.flatMap { key, value -> [String] in
            let full = prefix.isEmpty ? key : prefix + "." + key
            if let group = value as? [String: Any] { return flatKeys(group, prefix: full) }
            if value is NSNull { return [] }
            return [full]
        }
    }

    /// ", did you mean …?" for a key one or two edits from a setting's.
    static func suggestion(for key: String) -> String {
        let close = ServerSettings.keys.map(\.key).min { editDistance($0, key) < editDistance($1, key) }
        guard let close, editDistance(close, key) <= 2 else { return "" }
        return "; did you mean \(close)?"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
