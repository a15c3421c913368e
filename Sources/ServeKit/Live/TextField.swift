import Foundation

/// Checks on text that clients name things with (devices, sensors, batch ids, metadata).
enum TextField {
    /// Throws ``ServiceError`` `bad_request` unless `value` is 1…`maxLength` characters without control characters (NUL
    /// among them: C strings in drivers and logs would cut the text there, and a cut batch id
    /// would make a later batch look like a retry).
    /// `prose` (engineers' notes) also allows line breaks and tabs.
    static func check(_ value: String, _ field: String, maxLength: Int = 256, allowEmpty: Bool = false, prose: Bool = false) throws {
        guard allowEmpty || !value.isEmpty else { throw ServiceError.badRequest("\(field) is empty") }
        guard value.count <= maxLength else { throw ServiceError.badRequest("\(field) is longer than \(maxLength) characters") }
        let layout: Set<Unicode.Scalar> = prose ? ["\n", "\r", "\t"] : []
        if let bad = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control && !layout.contains($0) }) {
            throw ServiceError.badRequest("\(field) contains the control character U+\(String(format: "%04X", bad.value))")
        }
    }

    /// Cycle metadata: at most 64 entries, keys up to 128 and values up to 1,024 characters.
    static func checkMetadata(_ m: [String: String]) throws {
        guard m.count <= 64 else { throw ServiceError.badRequest("metadata has \(m.count) entries; at most 64") }
        for (k, v) in m {
            try check(k, "metadata key", maxLength: 128)
            try check(v, "metadata[\"\(k.prefix(40))\"]", maxLength: 1_024, allowEmpty: true)
        }
    }
}
