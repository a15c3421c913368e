import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ServeKit

/// Untrusted model files never crash or hang the server: refused, crashing or hanging files get
/// 422 `invalid_model`, nothing is stored, and the server carries on.
@Suite(.serialized) struct ModelUploadHardeningTests {
    static let corpus = repositoryRoot + "/fuzz/corpus/model/"
    static let pump = repositoryRoot + "/models/pump-default.h5"

    func upload(_ client: some TestClientProtocol, _ bytes: Data, name: String = "x.h5") async throws -> (HTTPResponse.Status, String?, String) {
        try await client.execute(uri: "/api/v1/models?name=\(name)", method: .post, headers: authHeaders(), body: ByteBuffer(bytes: bytes)) { r in
            let body = (try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any] ?? [:]
            return (r.status, errorCode(body), ((body["error"] as? [String: Any])?["message"] as? String) ?? "")
        }
    }

    func file(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: Self.corpus + name)) }

    /// Server settings whose model reader leaves its temporary files in `tmp`.
    func settings(_ dir: DataDir, _ tmp: DataDir) -> ServerSettings {
        var s = ServeKitTests.settings(dir)
        s.modelReader = readerSettings(tmp)
        return s
    }

    @Test func refusedFilesGet422NamingWhatIsWrongAndStoreNothing() async throws {
        let (dir, tmp) = (DataDir(), DataDir())
        let s = settings(dir, tmp)
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        let app = try await buildApplication(s, parts: parts)
        let pump = try Data(contentsOf: URL(fileURLWithPath: Self.pump))
        try await testApp(app, dir, .router) { client in
            let cases: [(Data, String)] = [
                (try file("window-2e62.h5"), "attribute window: must be 1…10000, found 4611686018427387904"),
                (try file("hidden-2e31.h5"), "attribute hidden_size: must be 1…512, found 2147483648"),
                (try file("reference-2e31-rows.h5"), "/reference/cycle: 2147483648 rows, expected 1…1000000"),
                (try file("threshold-zero.h5"), "/calibration/sensor_threshold: threshold 0.0 at flat index 1 must be finite and greater than 0"),
                (try file("weight-3e38.h5"), "/decoder/weight_ih_l0: value 3e+38 at flat index 0 is beyond ±1000000.0"),
                (try file("scaler-min-above-max.h5"), "/scaler: min 2.0 > max 1.0 for sensor 1 (flow)"),
                (pump.prefix(pump.count / 3), ""),
            ]
            for (bytes, message) in cases {
                let (status, code, text) = try await upload(client, bytes)
                #expect(status == .unprocessableContent && code == "invalid_model", "\(text)")
                if !message.isEmpty { #expect(text == message) }
            }
            #expect(try await parts.store.models().isEmpty)
            // A good model afterwards is taken.
            let (status, _, _) = try await upload(client, pump, name: "pump-default.h5")
            #expect(status == .ok)
            #expect(try await parts.store.models().count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)   // no temporary file left behind
    }

    @Test func aCrashingOrHangingReaderGets422AndTheServerCarriesOn() async throws {
        let (dir, tmp) = (DataDir(), DataDir())
        let pump = try Data(contentsOf: URL(fileURLWithPath: Self.pump))
        for (simulation, message) in [(ModelCheck.Simulation.crash, "the model reader crashed (signal 11)"),
                                      (.hang, "the model reader timed out after 1 s")] {
            var s = settings(dir, tmp)
            (s.modelReader.simulate, s.modelReader.timeout) = (simulation, 1)
            let parts = try await makeServerParts(s, logger: .init(label: "test"))
            let app = try await buildApplication(s, parts: parts)
            try await testApp(app, dir, .router) { client in
                let (status, code, text) = try await upload(client, pump)
                #expect(status == .unprocessableContent && code == "invalid_model" && text == message, "\(text)")
                #expect(try await client.json(.get, "/api/health").status == .ok)
                #expect(try await parts.store.models().isEmpty)
            }
        }
        let s = settings(dir, tmp)
        let app = try await buildApplication(s, parts: try await makeServerParts(s, logger: .init(label: "test")))
        try await testApp(app, dir, .router) { client in
            let status = try await upload(client, pump).0
            #expect(status == .ok)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)
    }

    @Test func anOversizeModelIsRefusedNamingTheModelLimit() async throws {
        let dir = DataDir()
        let s = ServeKitTests.settings(dir)
        let app = try await buildApplication(s, parts: try await makeServerParts(s, logger: .init(label: "test")))
        try await testApp(app, dir, .router) { client in
            let (status, code, text) = try await upload(client, Data(count: (64 << 20) + 1))
            #expect(status == .contentTooLarge && code == "body_too_large")
            #expect(text.contains("64 MiB") && !text.contains("2 MiB"), "\(text)")
        }
    }

    @Test func aHostileStoredModelDoesNotStopTheServer() async throws {
        let dir = DataDir()
        let s = ServeKitTests.settings(dir)
        // As if stored before models were checked this strictly, and active.
        let before = try await makeServerParts(s, logger: .init(label: "test"))
        try await before.store.saveModelFile(id: "hostile", bytes: try file("window-2e62.h5"))
        try await before.store.saveModel(ModelRecord(id: "hostile", source: "old", sensors: ["pressure", "flow", "temperature"], window: 6,
                                                     hidden: 4, createdAt: "", trainerVersion: "", dataSHA256: "", loadedAt: 0, active: true))
        let parts = try await makeServerParts(s, logger: .init(label: "test"))
        #expect(await parts.pipeline.loadedModel("hostile") == nil)
        let app = try await buildApplication(s, parts: parts)
        try await testApp(app, dir, .router) { client in
            let activate = try await client.json(.post, "/api/v1/models/hostile/activate")
            #expect(activate.status == .unprocessableContent && errorCode(activate.body) == "invalid_model")
            #expect(try await client.json(.get, "/api/health").status == .ok)
        }
    }

    @Test func aHostileModelNamedAtStartIsRefused() async throws {
        let dir = DataDir()
        var s = ServeKitTests.settings(dir)
        s.modelPath = Self.corpus + "weight-nan.h5"
        let error = await #expect(throws: ServiceError.self) { _ = try await makeServerParts(s, logger: .init(label: "test")) }
        #expect(error?.code == .invalidModel)
    }

    /// The real binary: the child is /proc/self/exe; SIGTERM still stops the server afterwards.
    @Test func aRealServerSurvivesHostileUploadsAndStopsOnSIGTERM() async throws {
        let dir = DataDir()
        let server = try ServerProcess(dataDir: dir.path, database: nil)
        defer { server.terminate() }
        try await server.ready()
        let token = try String(contentsOfFile: dir.path + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func post(_ bytes: Data) async throws -> (Int, String) {
            var r = URLRequest(url: URL(string: server.base + "/api/v1/models?name=x.h5")!)
            r.httpMethod = "POST"
            r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            r.httpBody = bytes
            r.timeoutInterval = 30
            let (data, response) = try await URLSession.shared.data(for: r)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        for name in ["window-2e62.h5", "sensors-2e40.h5", "external-storage.h5"] {
            let (status, body) = try await post(try file(name))
            #expect(status == 422 && body.contains("invalid_model"), "\(name): \(body)")
        }
        #expect(try await post(try Data(contentsOf: URL(fileURLWithPath: Self.pump))).0 == 200)
        let stopped = ContinuousClock.now
        server.terminate()
        #expect(ContinuousClock.now - stopped < .seconds(10))
        #expect(server.process.terminationReason == .exit)
    }
}
