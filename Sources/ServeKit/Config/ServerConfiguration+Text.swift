import Foundation

extension ServerConfiguration {
    /// `vertac-serve config print`: every setting, its value and where the value came from;
    /// secrets are not shown.
    public func printed() -> String {
        let rows = resolved.map { r -> (String, String, String) in
            let value = r.value.map { r.setting.secret ? "<secret>" : Self.quoted($0, r.setting) } ?? "(unset)"
            return (r.setting.key, value, "\(r.source)")
        }
        let keyWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = min(48, rows.map(\.1.count).max() ?? 0)
        return rows.map { key, value, source in
            key.padding(toLength: keyWidth, withPad: " ", startingAt: 0) + "  "
                + (value.count < valueWidth ? value.padding(toLength: valueWidth, withPad: " ", startingAt: 0) : value) + "  " + source
        }.joined(separator: "\n") + "\n"
    }

    /// A config file with every setting, its default and what it does (`config sample`; the
    /// repository ships it as `deploy/vertac.yaml`). Optional settings are commented out.
    public static func sample() -> String {
        var out = """
        # vertac-serve settings: every key with its default (vertac-serve config sample).
        # Precedence: flags (--set KEY=VALUE, or the named flags) over environment variables
        # (VERTAC_ + the key in capitals, dots as underscores: sensor.k_warn is VERTAC_SENSOR_K_WARN)
        # over this file (--config PATH, or VERTAC_CONFIG) over the defaults.
        # `vertac-serve config print --config PATH` shows the effective settings and their sources.


        """
        var group: String?
        for s in ServerSettings.keys {
            let parts = s.components
            let name = parts.count > 1 ? parts[0] : nil
            if name != group {
                out += "\n"
                if let name { out += "\(name):\n" }
                group = name
            }
            let indent = name == nil ? "" : "  "
            out += indent + "# " + s.help + " (" + s.accepts + ")\n"
            if let value = s.defaultValue {
                out += indent + parts.last! + ": " + Self.quoted(value, s) + "\n"
            } else {
                out += indent + "# " + parts.last! + ":\n"
            }
        }
        return out
    }

    /// A value as YAML (and the printout) writes it: text quoted, lists in brackets.
    private static func quoted(_ value: SettingValue, _ setting: Setting) -> String {
        func json(_ s: String) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            return String(decoding: try! encoder.encode(s), as: UTF8.self)
        }
        switch value {
        case .string(let s): return json(s)
        case .list(let items): return "[" + items.map(json).joined(separator: ", ") + "]"
        default: return value.description
        }
    }
}
