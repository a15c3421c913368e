import Foundation
import HTTPTypes
import Testing
@testable import ServeKit

/// The server's layers as the README's "Layout" describes them: HTTP only in the API layer, the
/// services refusing with stable codes, every code documented with its status.
@Suite struct LayoutTests {
    static let sources = repositoryRoot + "/Sources/ServeKit"
    /// The layers below HTTP: they may not name an HTTP library or an API-layer type.
    static let services = ["Live", "Pipeline", "Storage", "Models", "Metrics", "Auth", "Cluster"]

    static func swiftFiles(in folder: String) throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: folder))
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { folder + "/" + $0 }
    }

    /// The code of a Swift file without its comments (doc comments may name API types).
    static func code(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }.joined(separator: "\n")
    }

    @Test func servicesKnowNothingOfHTTP() throws {
        // Every type the API layer declares at top level.
        var apiTypes = Set<String>()
        let declaration = try Regex(#"(?m)^(?:public |private |fileprivate )?(?:final )?(?:struct|enum|class|actor|protocol) ([A-Za-z_]+)"#)
        for file in try Self.swiftFiles(in: Self.sources + "/API") {
            for m in try Self.code(file).matches(of: declaration) { apiTypes.insert(String(m.output[1].substring!)) }
        }
        #expect(apiTypes.isSuperset(of: ["APIError", "BatchRequest", "StatusResponse", "LiveHub", "SamplesMessage", "ModelView"]))
        let word = try Regex(#"[A-Za-z_]+"#)
        var found: [String] = []
        for folder in Self.services {
            for file in try Self.swiftFiles(in: Self.sources + "/" + folder) {
                let code = try Self.code(file)
                for library in ["Hummingbird", "HummingbirdWebSocket", "HTTPTypes"] where code.contains("import \(library)\n") {
                    found.append("\(file): imports \(library)")
                }
                let used = Set(code.matches(of: word).map { String(code[$0.range]) })
                for name in used.intersection(apiTypes).sorted() { found.append("\(file): uses \(name)") }
            }
        }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }

    /// The README's table of error codes: code → status.
    static func documentedCodes() throws -> [String: Int] {
        let readme = try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "#### Error codes").dropFirst().first)
        var codes: [String: Int] = [:]
        for m in section.matches(of: try Regex(#"(?m)^\| `([a-z_]+)` \| ([0-9]{3}) \|"#)) {
            codes[String(m.output[1].substring!)] = Int(m.output[2].substring!)
        }
        return codes
    }

    @Test func everyServiceErrorCodeIsDocumentedWithTheStatusItGets() throws {
        let documented = try Self.documentedCodes()
        #expect(documented.count >= ServiceError.Code.allCases.count)
        for code in ServiceError.Code.allCases {
            let status = APIError(ServiceError(code, "x")).status.code
            #expect(documented[code.rawValue] == status, "\(code.rawValue): README says \(documented[code.rawValue].map(String.init) ?? "nothing"), the API answers \(status)")
        }
        #expect(APIError(ServiceError(.busy, "x", retryAfter: 1)).headers[.retryAfter] == "1")
    }

    /// Every code the API layer answers with is in the table too.
    @Test func everyCodeTheAPIAnswersWithIsDocumented() throws {
        let documented = try Self.documentedCodes()
        let literal = try Regex(#"APIError(?:\.(?:notFound|conflict|unprocessable)\(|\([^,]+, )"([a-z_]+)""#)
        var used = Set<String>()
        for folder in ["API", "Server"] {
            for file in try Self.swiftFiles(in: Self.sources + "/" + folder) {
                let code = try Self.code(file)
                for m in code.matches(of: literal) { used.insert(String(m.output[1].substring!)) }
            }
        }
        #expect(used.count > 10)
        #expect(used.subtracting(documented.keys).isEmpty, "not in the README: \(used.subtracting(documented.keys).sorted())")
    }
}
