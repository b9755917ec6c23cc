import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's structured log: every line one JSON object, jobs, sync results, reloads and
/// request errors with their fields, and no token anywhere in it.
@Suite(.serialized) struct DaemonLogTests {
    static let hfToken = "hf_LogSecret_9f8e7d6c5b4a"
    static let adminToken = "admin-LogSecret-0a1b2c3d"

    /// The log's lines, each parsed as JSON (a line that is not JSON is a test failure).
    static func records(_ daemon: RunningDaemon) -> [[String: Any]] {
        daemon.log.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                Issue.record("a log line is not a JSON object: \(line)")
                return nil
            }
            return object
        }
    }

    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return false
    }

    @Test func everyLineIsJSONWithJobSyncReloadAndRequestFieldsAndNoToken() throws {
        let cli = try CLI()
        let commit = fakeCommit("logged")
        let weights = noise(150_000, seed: 31)
        let upstream = try FaultServer(cli: cli, repos: ["acme/logged": (commit, [
            .init(path: "config.json", bytes: Array(#"{"model_type": "llama"}"#.utf8), lfs: false),
            .init(path: "w.bin", bytes: weights, lfs: true),
        ], [])])
        let configuration = """
            listen: 127.0.0.1:0
            admin_token_env: TEST_ADMIN_TOKEN
            upstreams:
              hub: { endpoint: "\(upstream.base)", token_env: HF_TOKEN }
            repos:
              - id: acme/logged
                revisions: [main]
                interval: 1h
              - id: acme/absent
                interval: 1h
            """
        let config = try cli.write(configuration, to: "daemon.yaml")
        // No --log-format: standard error is a file here, so JSON is the default. Trace: the
        // most the daemon and its libraries ever write.
        let daemon = try RunningDaemon(cli, ["daemon", "--config", config.path, "--log-level", "trace"], environment: [
            "LINEAGE_DAEMON_TICK_MS": "100", "HF_TOKEN": Self.hfToken, "TEST_ADMIN_TOKEN": Self.adminToken,
        ])
        defer { daemon.stop() }
        #expect(try Self.waitFor(60) { try daemon.get("/acme/logged/resolve/main/w.bin").bytes == weights }, "\(daemon.log)")
        #expect(Self.waitFor(30) { daemon.log.contains("job failed") }, "\(daemon.log)")
        // The token went upstream (so it was in play), and nowhere else.
        #expect(upstream.requests().contains { $0["auth"] as? String == "Bearer \(Self.hfToken)" })

        #expect(try daemon.get("/nobody/nothing/resolve/main/x.bin").status == 404)
        #expect(try daemon.post("/api/mirror/repos/acme/logged/sync", token: "wrong-\(Self.adminToken)").status == 401)
        #expect(try daemon.post("/api/mirror/repos/acme/logged/sync", token: Self.adminToken).status == 200)
        try Data((configuration + "\n    colour: red\n").utf8).write(to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(daemon.waitForLog("configuration refused"), "\(daemon.log)")
        try Data(configuration.utf8).write(to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(daemon.waitForLog("configuration reloaded"), "\(daemon.log)")
        #expect(Self.waitFor(30) { daemon.log.components(separatedBy: "\"sync result\"").count > 2 }, "\(daemon.log)")
        daemon.stop()

        let log = daemon.log
        for secret in [Self.hfToken, Self.adminToken, "LogSecret"] {
            #expect(!log.contains(secret), "the log holds a token")
        }
        let records = Self.records(daemon)
        #expect(records.count > 10)
        for record in records {
            #expect(record["timestamp"].flatMap { $0 as? String }.map {
                $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil } == true, "\(record)")
            #expect(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(record["level"] as? String ?? ""))
            #expect(record["label"] is String && record["message"] is String && record["source"] is String, "\(record)")
        }
        func first(_ message: String, _ match: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
            records.first { $0["message"] as? String == message && match($0) }
        }
        let logged: ([String: Any]) -> Bool = { $0["repo"] as? String == "acme/logged" }
        let started = try #require(first("job started", logged), "\(log)")
        #expect(started["job"] is Int && started["kind"] as? String == "sync" && started["revision"] as? String == "main")
        let done = try #require(first("job done", logged), "\(log)")
        #expect(done["job"] as? Int == started["job"] as? Int)
        #expect((done["duration"] as? Double).map { $0 > 0 } == true, "\(done)")
        let result = try #require(first("sync result", logged), "\(log)")
        #expect(result["commit"] as? String == commit && result["revision"] as? String == "main")
        #expect(result["files"] as? Int == 2 && result["fetched"] as? Int == 2 && result["published"] as? Bool == true, "\(result)")
        #expect(result["bytes_total"] as? Int == weights.count + 23, "\(result)")
        let failed = try #require(first("sync result") { $0["repo"] as? String == "acme/absent" }, "\(log)")
        #expect(failed["level"] as? String == "warning" && (failed["error"] as? String)?.contains("acme/absent") == true, "\(failed)")
        let jobFailed = try #require(records.first { ($0["message"] as? String)?.hasPrefix("job failed") == true }, "\(log)")
        #expect(jobFailed["repo"] as? String == "acme/absent" && jobFailed["duration"] is Double && jobFailed["error"] is String, "\(jobFailed)")
        #expect(jobFailed["state"] as? String == "queued", "a retry is scheduled: \(jobFailed)")

        let notFound = try #require(first("request refused") { $0["path"] as? String == "/nobody/nothing/resolve/main/x.bin" }, "\(log)")
        #expect(notFound["status"] as? Int == 404 && notFound["error_code"] as? String == "RepoNotFound", "\(notFound)")
        #expect(notFound["method"] as? String == "GET" && notFound["duration"] is Double)
        let unauthorized = try #require(first("request refused") { $0["status"] as? Int == 401 }, "\(log)")
        #expect(unauthorized["path"] as? String == "/api/mirror/repos/acme/logged/sync")
        let refused = try #require(records.first { ($0["message"] as? String)?.hasPrefix("configuration refused") == true }, "\(log)")
        #expect(refused["file"] as? String == config.path && refused["line"] as? Int == 11 && refused["field"] as? String == "repos[1].colour",
                "\(refused)")
        let reloaded = try #require(first("configuration reloaded"), "\(log)")
        #expect(reloaded["repos"] as? Int == 2 && reloaded["file"] as? String == config.path)
    }

    @Test func textOnRequestAndBadOptionsRefused() throws {
        let cli = try CLI()
        let daemon = try RunningDaemon(cli, ["daemon", "--listen", "127.0.0.1:0", "--log-format", "text"])
        #expect(daemon.log.contains("listening on http://127.0.0.1:"))
        #expect(!daemon.log.hasPrefix("{"), "\(daemon.log)")
        daemon.stop()
        let format = try cli.run(["daemon", "--log-format", "yaml"])
        #expect(format.status == 64)
        #expect(format.stderr.contains("--log-format"), "\(format.stderr)")
        let level = try cli.run(["daemon", "--log-level", "loud"])
        #expect(level.status == 64)
        let file = try cli.write("log_format: xml\n", to: "daemon.yaml")
        let refused = try cli.run(["daemon", "--config", file.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(file.path):1: log_format: unknown log format 'xml' (allowed: json, text)"), "\(refused.stderr)")
    }
}
