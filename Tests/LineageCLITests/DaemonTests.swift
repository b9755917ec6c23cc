import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `lineage daemon` as a real process on 127.0.0.1, spoken to by the real clients:
/// huggingface_hub (library and `hf download`), git-lfs, and plain HTTP.
@Suite(.serialized) struct DaemonTests {
    static let files: [String: [UInt8]] = [
        "README.md": Array("---\nbase_model: meta-llama/Llama-2-7b-hf\nlicense: llama2\n---\n# tiny\n".utf8),
        "config.json": Array(#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#.utf8),
        "model.safetensors": Safetensors.valid([("w", [128, 128]), ("b", [128])]),
        "tokenizer/tokenizer.json": Array(#"{"version": "1.0"}"#.utf8),
        "extra.bin": noise(700_000, seed: 5),
    ]

    /// A store with `acme/tiny` mirrored from a local git + LFS remote by `lineage mirror`.
    func mirrored(_ cli: CLI) throws -> (work: URL, remote: URL) {
        let upstream = try cli.makeUpstream("tiny", files: Self.files)
        let add = try cli.run(["mirror", "add", "file://\(upstream.remote.path)", "--as", "acme/tiny"])
        #expect(add.status == 0, "\(add.stderr)")
        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        return upstream
    }

    @Test func huggingfaceHubDownloadsEveryFileByteForByte() throws {
        let cli = try CLI()
        _ = try mirrored(cli)
        let daemon = try RunningDaemon(cli, ["daemon", "--listen", "127.0.0.1:0"])
        defer { daemon.stop() }
        let environment = Self.hubClient(cli, daemon)
        let json = try Self.hubCheck(cli, daemon, "acme/tiny")
        let expected = Self.files.merging([".gitattributes": Array(try Data(contentsOf: cli.scratch.appendingPathComponent("upstream/tiny/.gitattributes")))]) { a, _ in a }
        let downloads = try #require(json["downloads"] as? [String: String])
        let snapshot = try #require(json["snapshot"] as? [String: String])
        #expect(Set(downloads.keys) == Set(expected.keys))
        for (path, bytes) in expected {
            #expect(downloads[path] == sha256Hex(bytes), "hf_hub_download \(path)")
            #expect(snapshot[path] == sha256Hex(bytes), "snapshot_download \(path)")
        }
        let siblings = try #require(json["siblings"] as? [String: [String: Any]])
        #expect(siblings["extra.bin"]?["size"] as? Int == 700_000)
        #expect(siblings["extra.bin"]?["lfs"] as? String == sha256Hex(Self.files["extra.bin"]!))
        #expect((json["listed"] as? [String])?.count == expected.count)
        let errors = try #require(json["errors"] as? [String: String])
        #expect(errors["unknown_repo"] == "RepositoryNotFoundError")
        #expect(errors["unknown_revision"] == "RevisionNotFoundError")
        #expect(errors["unknown_file"] == "RemoteEntryNotFoundError")

        // The command-line client too (`hf download`, huggingface-cli's successor).
        let target = cli.scratch.appendingPathComponent("hf-download")
        let download = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"), ["hf", "download", "acme/tiny", "--local-dir", target.path],
                                   environment: cli.environment.merging(environment), in: cli.scratch)
        #expect(download.status == 0, "\(download.stderr)")
        for (path, bytes) in expected {
            #expect((try? sha256Hex(file: target.appendingPathComponent(path))) == sha256Hex(bytes), "hf download \(path)")
        }
    }

    /// The environment huggingface_hub runs in against `daemon`: a cache of this test's own, online.
    static func hubClient(_ cli: CLI, _ daemon: RunningDaemon) -> [String: String?] {
        ["HF_ENDPOINT": daemon.base, "HF_HUB_CACHE": cli.scratch.appendingPathComponent("hf-cache").path,
         "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": nil, "HF_TOKEN": nil]
    }

    /// Tests/Scripts/hf_daemon_check.py against the daemon: model_info, list_repo_files,
    /// hf_hub_download and snapshot_download of every file (their sha256), client errors.
    static func hubCheck(_ cli: CLI, _ daemon: RunningDaemon, _ repo: String, revision: String? = nil) throws -> [String: Any] {
        let check = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"),
                                ["python3", CLI.packageRoot.appendingPathComponent("Tests/Scripts/hf_daemon_check.py").path, repo]
                                    + (revision.map { [$0] } ?? []),
                                environment: cli.environment.merging(hubClient(cli, daemon)), in: cli.scratch)
        #expect(check.status == 0, "\(check.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
    }

    @Test func thirtyTwoClientsAtOnceGetEveryByteInBoundedMemory() throws {
        let cli = try CLI()
        var files: [String: [UInt8]] = [:]
        for index in 0..<4 { files["part-\(index).bin"] = noise(40_000_000, seed: UInt64(70 + index)) }
        let upstream = try cli.makeUpstream("wide", files: files)
        #expect(try cli.run(["mirror", "add", "file://\(upstream.remote.path)", "--as", "acme/wide"]).status == 0)
        #expect(try cli.run(["mirror", "sync"]).status == 0)
        let daemon = try RunningDaemon(cli, ["daemon", "--listen", "127.0.0.1:0"])
        defer { daemon.stop() }
        // 32 curl processes: half on one file, the rest spread; 1.28 GB in all.
        var clients: [(name: String, process: Process, output: Pipe)] = []
        for client in 0..<32 {
            let name = client % 2 == 0 ? "part-0.bin" : "part-\(client % 4).bin"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "curl -sS --fail \(daemon.base)/acme/wide/resolve/main/\(name) | sha256sum"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            clients.append((name, process, output))
        }
        for client in clients {
            let text = String(decoding: client.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            client.process.waitUntilExit()
            #expect(text.split(separator: " ").first.map(String.init) == sha256Hex(files[client.name]!), "\(client.name)")
        }
        // Files stream from disk in chunks: the daemon's peak resident memory stays far below
        // what it sent (1.28 GB) and below one file per client. The bound leaves room for
        // glibc's per-thread malloc arenas, which kept up to 430 MB of freed chunks when the
        // machine was loaded enough that the 32 clients all stalled at once.
        let status = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/status", encoding: .utf8)
        let peakKB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? Int.max
        #expect(peakKB < 600_000, "peak RSS \(peakKB) kB")
    }

    @Test func gitLFSFetchesFromTheDaemon() throws {
        let cli = try CLI()
        let upstream = try mirrored(cli)
        let daemon = try RunningDaemon(cli, ["daemon", "--listen", "127.0.0.1:0"])
        defer { daemon.stop() }
        // A clone with pointers only, whose LFS endpoint is the daemon's.
        let clone = cli.scratch.appendingPathComponent("clone")
        var environment = cli.environment
        environment["GIT_LFS_SKIP_SMUDGE"] = "1"
        let cloned = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"), ["git", "clone", "-q", "-b", "main", "file://\(upstream.remote.path)", clone.path],
                                 environment: environment, in: cli.scratch)
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(try Data(contentsOf: clone.appendingPathComponent("extra.bin")).count < 200)  // a pointer
        try cli.git(["config", "lfs.url", "\(daemon.base)/acme/tiny.git/info/lfs"], in: clone)
        let fetch = try cli.git(["lfs", "fetch", "origin", "main"], in: clone)
        #expect(fetch.status == 0, "\(fetch.stderr)")
        let checkout = try cli.git(["lfs", "checkout"], in: clone)
        #expect(checkout.status == 0, "\(checkout.stderr)")
        for path in ["extra.bin", "model.safetensors"] {
            #expect(try sha256Hex(file: clone.appendingPathComponent(path)) == sha256Hex(Self.files[path]!), "\(path)")
        }
        // The bytes came from the daemon, which counts what it serves.
        let metrics = try daemon.get("/metrics")
        let expected = Self.files["extra.bin"]!.count + Self.files["model.safetensors"]!.count
        #expect(metrics.text.contains(#"lineage_served_bytes_total{route="lfs"} \#(expected)"#), "\(metrics.text)")
    }

    @Test func aConfigurationWithAnErrorIsRefusedAtStartAndOnReload() throws {
        let cli = try CLI()
        let file = try cli.write("listen: 127.0.0.1:0\nrepos:\n  - id: acme/tiny\n    interval: soon\n", to: "daemon.yaml")
        let refused = try cli.run(["daemon", "--config", file.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(file.path):4: repos[0].interval: 'soon' is not a duration"), "\(refused.stderr)")

        try Data("listen: 127.0.0.1:0\nrepos:\n  - id: acme/tiny\n    source: git\n    url: /nowhere/tiny\n".utf8).write(to: file)
        let daemon = try RunningDaemon(cli, ["daemon", "--config", file.path])
        defer { daemon.stop() }
        try Data("listen: 127.0.0.1:0\nrepos: {oops\n".utf8).write(to: file)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(daemon.waitForLog("configuration refused, keeping the running one: \(file.path):"), "\(daemon.log)")
        #expect(try daemon.get("/healthz").status == 200)

        try Data("listen: 127.0.0.1:0\nrepos:\n  - id: acme/tiny\n    source: git\n    url: /nowhere/tiny\n  - id: acme/second\n    source: git\n    url: /nowhere/second\n".utf8).write(to: file)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(daemon.waitForLog("configuration reloaded"), "\(daemon.log)")
        // The CLI reads the same store while the daemon runs.
        let list = try cli.run(["mirror", "ls"])
        #expect(list.stdout.contains("acme/second"), "\(list.stdout) \(list.stderr)")
    }

    @Test func sigtermStopsGracefully() throws {
        let cli = try CLI()
        let daemon = try RunningDaemon(cli, ["daemon", "--listen", "127.0.0.1:0"])
        #expect(try daemon.get("/healthz").text == #"{"status":"ok"}"#)
        kill(daemon.process.processIdentifier, SIGTERM)
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationReason == .exit)
        #expect(daemon.process.terminationStatus == 0)
        #expect(daemon.log.contains("stopped"), "\(daemon.log)")
    }
}

/// The page at `/` in a real headless browser (Debian's chromium): it loads, the lineage
/// picture is there as SVG, and a search finds Taiwan Llama.
@Suite(.serialized) struct DaemonPageTests {
    @Test func aBrowserShowsTheTreeAndFindsTaiwanLlama() throws {
        let cli = try CLI()
        let daemon = try RunningDaemon(cli, ["daemon", "--listen", "127.0.0.1:0"])
        defer { daemon.stop() }
        let browser = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                       "--user-data-dir=\(cli.scratch.appendingPathComponent("chromium").path)"]
        // The search box is filled from ?q= and the page's script applies it on load, as typing does.
        let dom = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"),
                              ["chromium"] + browser + ["--virtual-time-budget=5000", "--dump-dom", "\(daemon.base)/?q=Taiwan%20Llama"],
                              environment: cli.environment, in: cli.scratch)
        #expect(dom.status == 0, "\(dom.stderr)")
        let html = dom.stdout
        #expect(html.contains("<svg"), "no SVG in the page")
        #expect(html.contains("class=\"node"), "no Graphviz nodes in the SVG")
        // Rows that match stay visible, the rest are hidden by the script, which also counts them.
        #expect(html.range(of: #"<tr class="model" data-id="taiwan-llama-v1-0""#) != nil, "Taiwan Llama v1.0 is not shown")
        #expect(html.range(of: #"<tr class="model hidden" data-id="bloom-7b1""#) != nil, "BLOOM is not filtered out")
        let count = html.range(of: #"<span id="count">(\d+) found</span>"#, options: .regularExpression).map { String(html[$0]) }
        #expect(count != nil && count != #"<span id="count">0 found</span>"#, "\(count ?? "no count")")
        // The matching nodes are highlighted in the picture.
        #expect(html.contains("class=\"node match\""), "no highlighted node")

        let screenshot = cli.scratch.appendingPathComponent("page.png")
        let shot = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"),
                               ["chromium"] + browser + ["--window-size=1280,900", "--screenshot=\(screenshot.path)", "\(daemon.base)/?q=taiwan"],
                               environment: cli.environment, in: cli.scratch)
        #expect(shot.status == 0, "\(shot.stderr)")
        #expect(((try? Data(contentsOf: screenshot))?.count ?? 0) > 10_000)
        if let keep = ProcessInfo.processInfo.environment["LINEAGE_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try? FileManager.default.copyItem(at: screenshot, to: URL(fileURLWithPath: keep))
        }
    }
}

/// A `lineage daemon` process, its log in a file, its address read from the log.
final class RunningDaemon {
    let process: Process
    let logFile: URL
    private(set) var port = 0
    var base: String { "http://127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    init(_ cli: CLI, _ arguments: [String], environment extra: [String: String?] = [:]) throws {
        logFile = cli.scratch.appendingPathComponent("daemon-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.environment = cli.environment.merging(extra)
        process.standardOutput = try FileHandle(forWritingTo: logFile)
        process.standardError = try FileHandle(forWritingTo: logFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if let range = log.range(of: #"listening on http://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                port = Int(log[range].split(separator: ":").last!)!
                return
            }
            usleep(50_000)
        }
        Issue.record("the daemon did not start: \(log)")
    }

    func waitForLog(_ text: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    struct Reply {
        var status: Int
        var bytes: [UInt8]
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    func get(_ path: String) throws -> Reply {
        try send(URLRequest(url: URL(string: base + path)!))
    }

    func post(_ path: String, token: String? = nil, json: String? = nil) throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = Data(json.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return try send(request)
    }

    private func send(_ request: URLRequest) throws -> Reply {
        let done = DispatchSemaphore(value: 0)
        let box = ReplyBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.reply = Reply(status: (response as? HTTPURLResponse)?.statusCode ?? -1,
                              bytes: data.map { Array($0) } ?? Array("\(error.map { "\($0)" } ?? "")".utf8))
            done.signal()
        }.resume()
        done.wait()
        return box.reply!
    }

    final class ReplyBox: @unchecked Sendable {
        // Set by the session's callback before the semaphore is signalled, read after.
        var reply: Reply?
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }
}

/// The daemon's scheduler, workers and queue against a real git + LFS upstream.
@Suite(.serialized) struct DaemonJobTests {
    func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return false
    }

    func jobs(_ daemon: RunningDaemon) throws -> [[String: Any]] {
        (try JSONSerialization.jsonObject(with: Data(try daemon.get("/api/mirror/jobs").text.utf8)) as? [[String: Any]]) ?? []
    }

    @Test func theSchedulerSyncsTrackedReposAndAdminEndpointsNeedTheToken() throws {
        let cli = try CLI()
        let files = ["config.json": Array("{}".utf8), "w.bin": noise(200_000, seed: 8)]
        let upstream = try cli.makeUpstream("sched", files: files)
        let config = try cli.write("""
            listen: 127.0.0.1:0
            admin_token_env: TEST_ADMIN_TOKEN
            repos:
              - id: acme/sched
                source: git
                url: file://\(upstream.remote.path)
                interval: 1h
            """, to: "daemon.yaml")
        let daemon = try RunningDaemon(cli, ["daemon", "--config", config.path],
                                       environment: ["LINEAGE_DAEMON_TICK_MS": "100", "TEST_ADMIN_TOKEN": "s3cret-token"])
        defer { daemon.stop() }
        #expect(try waitFor(60) { try daemon.get("/api/models/acme/sched").status == 200 }, "\(daemon.log)")
        #expect(try daemon.get("/acme/sched/resolve/main/w.bin").status == 200)
        #expect(try jobs(daemon).contains { $0["repo"] as? String == "acme/sched" && $0["state"] as? String == "done" })

        // A new commit upstream, synced on demand through the admin endpoint.
        try cli.commitAndPush(["w.bin": noise(1000, seed: 9)], in: upstream.work)
        #expect(try daemon.post("/api/mirror/repos/acme/sched/sync").status == 401)
        #expect(try daemon.post("/api/mirror/repos/acme/sched/sync", token: "wrong").status == 401)
        #expect(try daemon.post("/api/mirror/repos/acme/sched/sync", token: "s3cret-token").status == 200)
        #expect(try waitFor(60) { try daemon.get("/acme/sched/resolve/main/w.bin").bytes == noise(1000, seed: 9) }, "\(daemon.log)")
        #expect(try daemon.post("/api/mirror/repos/nobody/none/sync", token: "s3cret-token").status == 404)
        // A repo added over HTTP is tracked and synced like the configured ones.
        let second = try cli.makeUpstream("added", files: ["README.md": Array("# added\n".utf8)])
        let add = #"{"id": "acme/added", "source": "git", "url": "file://\#(second.remote.path)"}"#
        #expect(try daemon.post("/api/mirror/repos", json: add).status == 401)
        #expect(try daemon.post("/api/mirror/repos", token: "s3cret-token", json: "{oops").status == 400)
        #expect(try daemon.post("/api/mirror/repos", token: "s3cret-token", json: add).status == 200)
        #expect(try waitFor(60) { try daemon.get("/acme/added/resolve/main/README.md").text == "# added\n" }, "\(daemon.log)")
        // The token never reaches the log.
        #expect(!daemon.log.contains("s3cret-token"))
        let metrics = try daemon.get("/metrics").text
        #expect(metrics.contains(#"lineage_jobs_total{kind="sync",outcome="done"}"#), "\(metrics)")
        #expect(metrics.contains(#"lineage_queue_jobs{state="queued"}"#))
    }

    @Test func everyConfiguredRevisionIsSyncedKeptThroughGCAndServed() throws {
        let cli = try CLI()
        let v1: [String: [UInt8]] = ["config.json": Array(#"{"v": 1}"#.utf8), "weights.bin": noise(300_000, seed: 21),
                                     "only-in-v1.bin": noise(120_000, seed: 22)]
        let upstream = try cli.makeUpstream("revs", files: v1)
        let first = try cli.git(["rev-parse", "HEAD"], in: upstream.work).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try cli.git(["tag", "v1"], in: upstream.work)
        try cli.git(["push", "-q", "origin", "v1"], in: upstream.work)
        // main moves on: a file changes, one goes away.
        try FileManager.default.removeItem(at: upstream.work.appendingPathComponent("only-in-v1.bin"))
        let main: [String: [UInt8]] = ["config.json": Array(#"{"v": 2}"#.utf8), "weights.bin": noise(300_000, seed: 23)]
        try cli.commitAndPush(main, in: upstream.work)
        let head = try cli.git(["rev-parse", "HEAD"], in: upstream.work).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let attributes = Array(try Data(contentsOf: upstream.work.appendingPathComponent(".gitattributes")))
        let config = try cli.write("""
            listen: 127.0.0.1:0
            repos:
              - id: acme/revs
                source: git
                url: file://\(upstream.remote.path)
                revisions: [main, v1, \(first)]
                interval: 1h
            """, to: "daemon.yaml")
        var daemon = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: ["LINEAGE_DAEMON_TICK_MS": "100"])
        defer { daemon.stop() }
        #expect(try waitFor(90) {
            try jobs(daemon).filter { $0["kind"] as? String == "sync" && $0["state"] as? String == "done" }.count == 3
        }, "\(daemon.log)")
        let syncs = try jobs(daemon).filter { $0["kind"] as? String == "sync" }
        #expect(Set(syncs.compactMap { $0["revision"] as? String }) == ["main", "v1", first], "\(syncs)")

        // The real client, by branch and by tag: each revision's own files, byte for byte.
        for (revision, commit, files) in [("main", head, main), ("v1", first, v1)] {
            let json = try DaemonTests.hubCheck(cli, daemon, "acme/revs", revision: revision)
            #expect(json["sha"] as? String == commit, "\(revision)")
            let expected = files.merging([".gitattributes": attributes]) { a, _ in a }
            let downloads = try #require(json["downloads"] as? [String: String])
            let snapshot = try #require(json["snapshot"] as? [String: String])
            #expect(Set(downloads.keys) == Set(expected.keys), "\(revision)")
            for (path, bytes) in expected {
                #expect(downloads[path] == sha256Hex(bytes), "hf_hub_download \(path) at \(revision)")
                #expect(snapshot[path] == sha256Hex(bytes), "snapshot_download \(path) at \(revision)")
            }
        }
        // By commit id, and without a revision: the first one listed.
        #expect(try daemon.get("/acme/revs/resolve/\(first)/only-in-v1.bin").bytes == v1["only-in-v1.bin"]!)
        #expect(try daemon.get("/acme/revs/resolve/main/only-in-v1.bin").status == 404)
        let info = try JSONSerialization.jsonObject(with: Data(try daemon.get("/api/models/acme/revs").bytes)) as? [String: Any]
        #expect(info?["sha"] as? String == head)

        // gc keeps every revision a ref names: the file only v1 has survives it.
        daemon.stop()
        let gc = try cli.run(["mirror", "gc"])
        #expect(gc.status == 0, "\(gc.stderr)")
        let kept = try cli.tool("sqlite3", [cli.store.appendingPathComponent("lineage.sqlite").path,
                                            "SELECT commit_id FROM mirror_revision WHERE repo_id = 'acme/revs' ORDER BY commit_id"]).stdout
        #expect(Set(kept.split(separator: "\n").map(String.init)) == [first, head])
        daemon = try RunningDaemon(cli, ["daemon", "--config", config.path])
        #expect(try daemon.get("/acme/revs/resolve/v1/only-in-v1.bin").bytes == v1["only-in-v1.bin"]!)
        #expect(try daemon.get("/acme/revs/resolve/main/weights.bin").bytes == main["weights.bin"]!)
    }

    @Test func gitLockFilesLeftByAKilledFetchDoNotBlockTheNextSync() throws {
        let cli = try CLI()
        let upstream = try cli.makeUpstream("locked", files: ["a.txt": Array("1".utf8)])
        #expect(try cli.run(["mirror", "add", "file://\(upstream.remote.path)", "--as", "acme/locked"]).status == 0)
        #expect(try cli.run(["mirror", "sync"]).status == 0)
        // What `kill -9` during libgit2's fetch leaves behind.
        let mirror = cli.store.appendingPathComponent("git/acme/locked.git")
        for lock in ["packed-refs.lock", "refs/heads/main.lock", "config.lock"] {
            #expect(FileManager.default.createFile(atPath: mirror.appendingPathComponent(lock).path, contents: Data()))
        }
        try cli.commitAndPush(["a.txt": Array("2".utf8)], in: upstream.work)
        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(!FileManager.default.fileExists(atPath: mirror.appendingPathComponent("refs/heads/main.lock").path))
    }

    @Test func killedDuringASyncTheRestartedDaemonFinishesEveryJob() throws {
        let cli = try CLI()
        var files: [String: [UInt8]] = ["config.json": Array("{}".utf8)]
        for index in 0..<4 { files["shard-\(index).bin"] = noise(24_000_000, seed: UInt64(40 + index)) }
        let upstream = try cli.makeUpstream("big", files: files)
        let config = try cli.write("""
            listen: 127.0.0.1:0
            repos:
              - id: acme/big
                source: git
                url: file://\(upstream.remote.path)
            """, to: "daemon.yaml")
        let first = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: ["LINEAGE_DAEMON_TICK_MS": "50"])
        #expect(first.waitForLog("job started"), "\(first.log)")
        // Whatever the sync has done so far, nothing unverified is served.
        let early = try first.get("/acme/big/resolve/main/shard-3.bin")
        #expect(early.status == 404 || early.bytes == files["shard-3.bin"]!)
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        // Killed mid-sync (the usual case) or just after it finished (a slow, loaded machine).
        let left = try cli.tool("sqlite3", [cli.store.appendingPathComponent("lineage.sqlite").path,
                                            "SELECT state FROM daemon_job WHERE kind = 'sync'"]).stdout
        let killedMidSync = left.contains("running")

        let second = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: ["LINEAGE_DAEMON_TICK_MS": "50"])
        defer { second.stop() }
        #expect(try waitFor(120) {
            let all = try jobs(second)
            return !all.isEmpty && all.allSatisfy { ($0["state"] as? String) == "done" || ($0["kind"] as? String) == "verify" }
        }, "\(second.log)")
        for (path, bytes) in files {
            let reply = try second.get("/acme/big/resolve/main/\(path)")
            #expect(reply.status == 200 && reply.bytes == bytes, "\(path)")
        }
        // The job the first daemon held was taken back at once, not after its lease ran out.
        if killedMidSync {
            #expect(second.log.contains("resuming a job left running by a stopped daemon"), "\(second.log)")
        }
        let syncs = try jobs(second).filter { $0["kind"] as? String == "sync" }
        #expect(syncs.count == 1)
        #expect(syncs.first?["state"] as? String == "done")
    }

    @Test func sigtermDuringASyncLeavesItResumable() throws {
        let cli = try CLI()
        var files: [String: [UInt8]] = ["config.json": Array("{}".utf8)]
        for index in 0..<4 { files["shard-\(index).bin"] = noise(24_000_000, seed: UInt64(60 + index)) }
        let upstream = try cli.makeUpstream("term", files: files)
        let config = try cli.write("listen: 127.0.0.1:0\nrepos:\n  - id: acme/term\n    source: git\n    url: file://\(upstream.remote.path)\n",
                                   to: "daemon.yaml")
        let first = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: ["LINEAGE_DAEMON_TICK_MS": "50"])
        #expect(first.waitForLog("job started"), "\(first.log)")
        kill(first.process.processIdentifier, SIGTERM)
        first.process.waitUntilExit()
        #expect(first.process.terminationStatus == 0, "\(first.log)")
        #expect(first.log.contains("job interrupted by shutdown") || first.log.contains("job done"), "\(first.log)")

        let second = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: ["LINEAGE_DAEMON_TICK_MS": "50"])
        defer { second.stop() }
        #expect(try waitFor(120) { try jobs(second).contains { $0["kind"] as? String == "sync" && $0["state"] as? String == "done" } },
                "\(second.log)")
        for (path, bytes) in files {
            #expect(try second.get("/acme/term/resolve/main/\(path)").bytes == bytes, "\(path)")
        }
    }
}
