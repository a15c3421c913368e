/// Why a model file could not be read or written.
public struct ModelFileError: Error, CustomStringConvertible, Equatable {
    enum Kind: Equatable {
        case notHDF5
        case notVerTac(found: String)
        case unsupportedVersion(Int)
        case missing(String)
        case shape(String, expected: [Int], found: [Int])
        case type(String, expected: String, found: String)
        case invalid(String, reason: String)
        case io(String)
    }

    let kind: Kind
    /// The file concerned.
    public let path: String

    /// The file could not be read at all.
    public static func notReadable(_ path: String) -> ModelFileError { ModelFileError(.io("cannot be read"), path: path) }

    /// `name` (a dataset, attribute or part of the model) is present but unusable.
    public static func invalid(_ name: String, _ reason: String, path: String) -> ModelFileError {
        ModelFileError(.invalid(name, reason: reason), path: path)
    }

    init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String { "\(path): \(reason)" }

    /// What is wrong, without the path: for a client that sent the bytes and never saw the path.
    public var reason: String {
        switch kind {
        case .notHDF5:
            return "not an HDF5 file (missing, truncated or another format)"
        case .notVerTac(let found):
            return "not a VerTac model (format attribute is \(found), expected \"vertac-lstm-ae\")"
        case .unsupportedVersion(let v):
            return "unsupported format_version \(v) (this build reads version \(ModelFile.formatVersion))"
        case .missing(let name):
            return "missing \(name)"
        case let .shape(name, expected, found):
            return "\(name) has shape \(found), expected \(expected)"
        case let .type(name, expected, found):
            return "\(name) is \(found), expected \(expected)"
        case let .invalid(name, reason):
            return "\(name): \(reason)"
        case .io(let what):
            return what
        }
    }
}
