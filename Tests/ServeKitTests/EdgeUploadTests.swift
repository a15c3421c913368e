import EdgeKit
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ServeKit

@Suite(.serialized) struct EdgeUploadTests {
    /// The edge streams 300 rows; the server is stopped mid-stream and restarted on the same port;
    /// the edge's buffer and retries deliver every row exactly once.
    @Test(arguments: ["http", "websocket"])
    func serverStoppedMidStreamEverySampleArrivesOnce(transport: String) async throws {
        let dir = DataDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        var server = try ServerProcess(dataDir: dir.path, database: nil)
        defer { server.terminate() }
        try await server.ready()
        let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let bufferPath = dir.path + "/edge.sqlite"
        let buffer = try EdgeBuffer(path: bufferPath)
        let uploader = Uploader(server: URL(string: server.base + "/")!, token: token, buffer: buffer, minDelay: 0.05, maxDelay: 0.5)
        let stream = try await uploader.register(deviceName: "edge-test", sensors: [("a", nil), ("b", "bar")])
        let recorder = try Recorder(buffer: buffer, stream: stream, batchRows: 10, batchSeconds: 1)
        try recorder.event("start")
        for r in 0..<300 { try recorder.row(time: 1_000 + Double(r) * 0.1, values: [Float(r), Float(r % 7)]) }
        try recorder.event("stop")
        #expect(buffer.count == 32)

        let drain = Task {
            if transport == "websocket" { try await uploader.drainPreferringWebSocket(stream: stream) } else { try await uploader.drain(stream: stream) }
        }
        // Let part of it through, then stop the server (SIGTERM) and bring it back on the same port.
        while await uploader.sent < 8 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await uploader.transport == transport)
        server.terminate()
        try await Task.sleep(for: .milliseconds(400))
        #expect(buffer.count > 0)   // the rest waits in the buffer
        let port = server.port
        server = try ServerProcess(dataDir: dir.path, database: nil, port: port)
        try await server.ready()
        try await drain.value
        #expect(buffer.count == 0 && buffer.deadCount == 0)
        #expect(await uploader.retries > 0)

        let (_, listed) = try await server.request("GET", "/api/v1/streams/\(stream)/cycles", token: token)
        let cycles = try #require((try JSONSerialization.jsonObject(with: listed) as? [String: Any])?["cycles"] as? [[String: Any]])
        #expect(cycles.count == 1)
        let (_, csv) = try await server.request("GET", "/api/v1/cycles/\(cycles[0]["id"] as! String)/samples.csv", token: token)
        let values = String(decoding: csv, as: UTF8.self).split(separator: "\n").dropFirst().map { Float($0.split(separator: ",")[1])! }
        #expect(values.count == 300 && values == (0..<300).map(Float.init))   // every row, once, in order
    }
}
