import Foundation
import Inference
import Logging
import Synchronization
import Testing
@testable import ServeKit

/// `vertac-serve`'s settings: a config file, VERTAC_* environment variables and flags, in that
/// order of precedence, checked at start with errors that name the key and its source.
@Suite struct ConfigurationTests {
    static func file(_ text: String, _ ext: String = "yaml") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vertac-config-\(UUID().uuidString).\(ext)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func error(_ load: () async throws -> ServerConfiguration) async -> String? {
        do {
            _ = try await load()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheFile() async throws {
        let path = try Self.file("""
            port: 9001
            sensor:
              k_warn: 4
              k_crit: 40
            cycle:
              sample_timeout_seconds: 120
            events:
              default_cost: 250
              sensor_costs: [bearing_temp=1200, flow=300]
            """)
        let c = try await ServerConfiguration.load(
            file: path, environment: ["VERTAC_SENSOR_K_WARN": "5", "VERTAC_PORT": "9002", "HOME": "/root"],
            flags: ["port": ("9003", "--port")])
        let s = c.settings
        #expect(s.port == 9003)
        #expect(s.monitor.sensor.kWarn == 5)
        #expect(s.monitor.sensor.kCrit == 40)
        #expect(s.monitor.sampleTimeout == 120)
        #expect(s.monitor.policy.defaultCost == 250)
        #expect(s.monitor.policy.baseCost == ["bearing_temp": 1200, "flow": 300])
        #expect(s.monitor.sensor.kRecover == SensorSettings.default.kRecover)
        #expect(s.configFile == path)
        let sources = Dictionary(uniqueKeysWithValues: c.resolved.map { ($0.setting.key, "\($0.source)") })
        #expect(sources["port"] == "flag --port")
        #expect(sources["sensor.k_warn"] == "environment VERTAC_SENSOR_K_WARN")
        #expect(sources["sensor.k_crit"] == "file \(path)")
        #expect(sources["sensor.k_recover"] == "default")
        let printed = c.printed()
        #expect(printed.contains("port") && printed.contains("9003") && printed.contains("flag --port"))
    }

    @Test func theEnvironmentAloneAndAJSONFileWork() async throws {
        let path = try Self.file(#"{"log": {"format": "json", "level": "debug"}, "cluster": {"lease_seconds": 3}, "scoring": {"stride": 2}}"#, "json")
        let s = try await ServerConfiguration.load(
            file: nil, environment: ["VERTAC_CONFIG": path, "VERTAC_DATA_DIR": "/var/lib/vertac", "VERTAC_EVENTS_SENSOR_COSTS": "a=1, b=2.5"]).settings
        #expect(s.log == LogSettings(format: .json, level: .debug))
        #expect(s.leaseSeconds == 3)
        #expect(s.monitor.stride == 2)
        #expect(s.dataDirectory == "/var/lib/vertac")
        #expect(s.monitor.policy.baseCost == ["a": 1, "b": 2.5])
    }

    @Test func badValuesNameTheirKeyAndSource() async throws {
        let none: [String: String] = [:]
        #expect(await Self.error { try await .load(file: nil, environment: ["VERTAC_PORT": "abc"]) }
            == #"port (environment VERTAC_PORT): expected an integer from 1 to 65535, got "abc""#)
        #expect(await Self.error { try await .load(file: nil, environment: none, flags: ["port": ("70000", "--port")]) }
            == #"port (flag --port): expected an integer from 1 to 65535, got "70000""#)
        #expect(await Self.error { try await .load(file: nil, environment: none, flags: ["sensor.kwarn": ("3", "--set sensor.kwarn")]) }
            == "sensor.kwarn (flag --set sensor.kwarn): no such setting; did you mean sensor.k_warn?")
        let misspelt = try Self.file("sensor:\n  k_warn: 5\n  kcrit: 3\n")
        #expect(await Self.error { try await .load(file: misspelt, environment: none) }
            == "sensor.kcrit (file \(misspelt)): no such setting; did you mean sensor.k_crit?")
        let wrongType = try Self.file("sensor:\n  k_warn: five\n")
        #expect(await Self.error { try await .load(file: wrongType, environment: none) }
            == "sensor.k_warn (file \(wrongType)): expected an integer from 1 to 100000")
        let badFactor = try Self.file("sensor:\n  critical_factor: 1\n")
        #expect(await Self.error { try await .load(file: badFactor, environment: none) }?.hasPrefix("sensor.critical_factor (file") == true)
        let badCost = try Self.file("events:\n  sensor_costs: [a=1, b=x]\n")
        #expect(await Self.error { try await .load(file: badCost, environment: none) }
            == #"events.sensor_costs (file \#(badCost)): "b=x" is not sensor=cost with a cost from 0 to 1e12"#)
        let badChoice = try Self.file("log:\n  format: xml\n")
        #expect(await Self.error { try await .load(file: badChoice, environment: none) }
            == #"log.format (file \#(badChoice)): expected one of text, json, got "xml""#)
        let notYAML = try Self.file("port: [1,2\n")
        #expect(await Self.error { try await .load(file: notYAML, environment: none) }?.hasPrefix("config (file \(notYAML)): not valid YAML") == true)
        let list = try Self.file("- 1\n- 2\n")
        #expect(await Self.error { try await .load(file: list, environment: none) } == "config (file \(list)): expected a mapping of settings at the top")
        #expect(await Self.error { try await .load(file: "/nonexistent/vertac.yaml", environment: none) }
            == "config (file /nonexistent/vertac.yaml): cannot read the file")
        #expect(await Self.error { try await .load(file: nil, environment: ["VERTAC_CLUSTER_ADVERTISE": "ftp://x"]) }
            == "cluster.advertise (environment VERTAC_CLUSTER_ADVERTISE): must be an http:// or https:// URL")
        #expect(await Self.error { try await .load(file: nil, environment: ["VERTAC_DASHBOARD_DIR": "/nonexistent"]) }
            == "dashboard_dir (environment VERTAC_DASHBOARD_DIR): no index.html in /nonexistent")
    }

    /// An empty variable, an empty file, a group with every key commented out and a key with no
    /// value set nothing.
    @Test func emptyValuesSetNothing() async throws {
        let empty = try Self.file("# nothing yet\n")
        let c = try await ServerConfiguration.load(file: empty, environment: ["VERTAC_DATABASE_URL": "", "VERTAC_PORT": ""])
        #expect(c.settings.databaseURL == nil && c.settings.port == 8080)
        let groups = try Self.file("cluster:\n  # lease_seconds: 5\nmodel:\nport: 9000\n")
        let g = try await ServerConfiguration.load(file: groups, environment: [:]).settings
        #expect(g.modelPath == nil && g.port == 9000)
    }

    @Test func secretsAreNotPrinted() async throws {
        let c = try await ServerConfiguration.load(file: nil, environment: ["VERTAC_DATABASE_URL": "postgresql://u:hunter2@db/vertac"])
        #expect(c.settings.databaseURL == "postgresql://u:hunter2@db/vertac")
        #expect(!c.printed().contains("hunter2"))
        #expect(c.printed().contains("<secret>"))
        let tooLong = "postgresql://u:hunter2@db/" + String(repeating: "x", count: 5_000)
        let message = await Self.error { try await .load(file: nil, environment: ["VERTAC_DATABASE_URL": tooLong]) }
        #expect(message?.hasPrefix("database_url (environment VERTAC_DATABASE_URL): expected text") == true && message?.contains("hunter2") == false)
    }

    /// The sample config shipped in the repository is the one `config sample` prints, and reading
    /// it gives every default.
    @Test func theShippedSampleIsCurrentAndHoldsTheDefaults() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(contentsOf: root.appendingPathComponent("deploy/vertac.yaml"), encoding: .utf8)
        #expect(shipped == ServerConfiguration.sample(), "deploy/vertac.yaml is stale: run `vertac-serve config sample > deploy/vertac.yaml`")
        let path = try Self.file(ServerConfiguration.sample())
        let c = try await ServerConfiguration.load(file: path, environment: [:])
        for r in c.resolved {
            #expect(r.value == r.setting.defaultValue, "\(r.setting.key)")
            #expect(r.source == (r.setting.defaultValue == nil ? .defaultValue : .file(path)), "\(r.setting.key)")
        }
        let d = ServerSettings(), s = c.settings
        #expect(s.monitor == d.monitor && s.port == d.port && s.host == d.host && s.leaseSeconds == d.leaseSeconds && s.log == d.log)
        #expect(s.rateLimit == d.rateLimit && s.maxQueuedWindows == d.maxQueuedWindows && s.connections.maxConnections == d.connections.maxConnections)
        #expect(s.modelReader.memoryBytes == d.modelReader.memoryBytes && s.modelReader.cpuSeconds == d.modelReader.cpuSeconds)
    }

    /// A cost setting gives every event an estimate: the sensor's own, else the default one.
    @Test func eventsCarryTheirEstimatedCost() {
        let policy = MaintenancePolicy(baseCost: ["flow": 300], defaultCost: 100)
        var sm = SensorStateMachine(settings: SensorSettings(kWarn: 1, kCrit: 1, criticalFactor: 3, kRecover: 1), at: 0)
        func critical(_ sensor: String) -> MaintenanceEvent? {
            let evidence = SensorEvidence(time: 1, error: 10, errorThreshold: 1, dtwDeviation: 0, dtwThreshold: 0, score: 4)
            let t = sm.observe(evidence)
            if case .open(let e) = policy.decide(stream: "s", sensor: sensor, state: sm, transition: t, evidence: evidence,
                                                 contributions: [], existing: nil) { return e }
            return nil
        }
        #expect(critical("flow")?.estimatedCost == 300)
        #expect(critical("bearing_temp")?.estimatedCost == 100)
    }

    @Test func jsonLogLinesCarryTheMetadataAsFields() throws {
        let lines = Mutex<[String]>([])
        var handler = JSONLogHandler(label: "test", sink: .init { line in lines.withLock { $0.append(line) } })
        handler.logLevel = .info
        var logger = Logger(label: "test", factory: { _ in handler })
        logger[metadataKey: "node"] = "n1"
        logger.debug("not shown")
        logger.warning("sensor state changed", metadata: ["stream": "s1", "message": "clash", "n": "3"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "sensor state changed")
        #expect(object["level"] as? String == "warning")
        #expect(object["stream"] as? String == "s1" && object["node"] as? String == "n1" && object["n"] as? String == "3")
        #expect((object["metadata"] as? [String: Any])?["message"] as? String == "clash")
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)
    }

    /// The real server reads its config file (JSON log lines), and a bad setting stops it before
    /// it listens, with the key in its message.
    @Test func theServerStartsWithItsConfigAndRefusesABadOne() async throws {
        let path = try Self.file("log:\n  format: json\nsensor:\n  k_warn: 4\n")
        let dir = DataDir()
        let server = try ServerProcess(dataDir: dir.path, database: nil, arguments: ["--config", path])
        defer { server.terminate() }
        try await server.ready()
        server.terminate()
        let lines = try String(contentsOfFile: server.log, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count && objects.count >= 3, "\(lines)")
        #expect(objects.contains { $0["message"] as? String == "settings read" && $0["config"] as? String == path })

        let bad = try ServerProcess(dataDir: DataDir().path, database: nil, arguments: ["--config", path, "--set", "sensor.k_warn=0"],
                                    environment: ["VERTAC_LOG_FORMAT": "text"])
        for _ in 0..<300 where bad.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!bad.process.isRunning, "a bad setting did not stop the server")
        bad.terminate()
        #expect(bad.process.terminationStatus != 0)
        let message = try String(contentsOfFile: bad.log, encoding: .utf8)
        #expect(message.contains("sensor.k_warn (flag --set sensor.k_warn): expected an integer from 1 to 100000, got \"0\""), "\(message)")
    }
}
