import Foundation
@testable import ServeKit

extension LiveService {
    /// Registers a stream from VerTac's JSON body, read as the API reads it.
    func register(json: String) async throws -> Registration {
        try await register(try JSONDecoder().decode(RegisterRequest.self, from: Data(json.utf8)).spec)
    }

    /// Ingests a batch from its JSON body, read as the API reads it.
    func ingest(json: String, arrival: UInt64 = ServerMetrics.now()) async throws -> IngestReceipt {
        try await ingest(try JSONDecoder().decode(BatchRequest.self, from: Data(json.utf8)).ingestBatch(), arrival: arrival)
    }
}
