import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The Hub source against olah (PyPI), a Hub-compatible server nobody here wrote, serving a
/// local git repo offline from its mirrors-path.
@Suite(.serialized) struct MirrorOlahTests {
    @Test func mirrorsFromOlahAndLoadsOffline() throws {
        let cli = try CLI()
        let files: [String: [UInt8]] = [
            "config.json": MirrorGitTests.config,
            "README.md": MirrorGitTests.card,
            "model-00001-of-00002.safetensors": Safetensors.valid([("a", [128, 64])], seed: 21),
            "model-00002-of-00002.safetensors": Safetensors.valid([("b", [128, 64])], seed: 22),
            "sub/notes.txt": Array("hello\n".utf8),
        ]
        // olah wants a working copy with .git/lfs/objects at <mirrors>/models/<org>/<name>.
        let (work, _) = try cli.makeUpstream("mirrors/models/acme/olah-tiny", files: files)
        let mirrors = work.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let port = freePort()
        let config = try cli.write("""
            [basic]
            host = "127.0.0.1"
            port = \(port)
            mirror-netloc = "127.0.0.1:\(port)"
            mirror-lfs-netloc = "127.0.0.1:\(port)"
            repos-path = "\(cli.scratch.appendingPathComponent("olah-repos").path)"
            mirrors-path = ["\(mirrors.path)"]

            [accessibility]
            offline = true
            """, to: "olah.toml")
        let olah = Process()
        olah.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        olah.arguments = ["olah-cli", "-c", config.path]
        olah.currentDirectoryURL = cli.scratch
        olah.standardOutput = FileHandle.nullDevice
        olah.standardError = FileHandle.nullDevice
        try olah.run()
        defer {
            kill(olah.processIdentifier, SIGKILL)
            olah.waitUntilExit()
        }
        let endpoint = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<100 where !up {
            Thread.sleep(forTimeInterval: 0.2)
            up = (try? cli.tool("curl", ["-sf", "\(endpoint)/api/models/acme/olah-tiny/revision/main"]))?.status == 0
        }
        try #require(up, "olah did not come up on \(endpoint)")

        #expect(try cli.run(["mirror", "add", "acme/olah-tiny"]).status == 0)
        // The endpoint from HF_ENDPOINT, as huggingface_hub reads it.
        let sync = try cli.run(["mirror", "sync", "acme/olah-tiny"], environment: ["HF_ENDPOINT": endpoint])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("6 files, 6 fetched"), "\(sync.stdout)")
        let loaded = try cli.loadOffline("acme/olah-tiny")
        for (path, bytes) in files {
            #expect(loaded[path]?.sha256 == sha256Hex(bytes), "\(path)")
        }
        // The commit olah served is the upstream's.
        let head = try cli.git(["rev-parse", "HEAD"], in: work).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ref = try String(contentsOf: cli.store.appendingPathComponent("hub/models--acme--olah-tiny/refs/main"), encoding: .utf8)
        #expect(ref == head)
    }
}

/// Faults injected by Tests/Scripts/fault_hub.py: each one a test of what sync does.
@Suite(.serialized) struct MirrorFaultTests {
    let commit = fakeCommit("faults")

    func server(_ cli: CLI, _ files: [FaultServer.ServedFile], extraTree: [[String: Any]] = [], pageSize: Int = 50) throws -> FaultServer {
        try FaultServer(cli: cli, repos: ["acme/faulty": (commit, files, extraTree)], pageSize: pageSize)
    }

    func add(_ cli: CLI, _ server: FaultServer) throws {
        let add = try cli.run(["mirror", "add", "acme/faulty", "--endpoint", server.base])
        #expect(add.status == 0, "\(add.stderr)")
    }

    func sync(_ cli: CLI, _ extra: [String] = []) throws -> CLI.Result {
        try cli.run(["mirror", "sync", "acme/faulty", "--retry-delay", "20"] + extra)
    }

    @Test func wrongBytesForAnLFSObjectAreReportedAndNothingIsPublished() throws {
        let cli = try CLI()
        let good = Safetensors.valid([("w", [256, 64])], seed: 31)
        var bad = good
        bad[bad.count - 1] ^= 0xff
        let other = Safetensors.valid([("v", [64])], seed: 32)
        let server = try server(cli, [
            .init(path: "config.json", bytes: MirrorGitTests.config, lfs: false),
            .init(path: "model-00001-of-00002.safetensors", bytes: good, lfs: true, serve: bad),
            .init(path: "model-00002-of-00002.safetensors", bytes: other, lfs: true),
        ])
        try add(cli, server)
        let sync = try sync(cli)
        #expect(sync.status != 0)
        #expect(sync.stderr.contains("model-00001-of-00002.safetensors: upstream sent wrong bytes: expected sha256:\(sha256Hex(good)), got sha256:\(sha256Hex(bad))"), "\(sync.stderr)")
        #expect(sync.stderr.contains("nothing was published"), "\(sync.stderr)")
        // The other files completed and are in the store.
        for bytes in [other] {
            let oid = sha256Hex(bytes)
            #expect(FileManager.default.fileExists(atPath: cli.store.appendingPathComponent("blobs/sha256/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)").path))
        }
        // Nothing in the cache view, the bad bytes in quarantine, the record in the database.
        #expect(!FileManager.default.fileExists(atPath: cli.store.appendingPathComponent("hub/models--acme--faulty/snapshots/\(commit)").path))
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: cli.store.appendingPathComponent("quarantine").path)
        #expect(quarantined.count == 1 && quarantined[0].hasPrefix(sha256Hex(bad)))
        let record = try cli.tool("sqlite3", [cli.store.appendingPathComponent("lineage.sqlite").path,
                                              "SELECT repo_id, path, expected, actual FROM mirror_quarantine"])
        #expect(record.stdout.contains("acme/faulty|model-00001-of-00002.safetensors|sha256:\(sha256Hex(good))|sha256:\(sha256Hex(bad))"), "\(record.stdout)")
        #expect(try cli.run(["mirror", "ls"]).stdout.contains("(not synced yet)"))
        // Once upstream is fixed, only the bad file moves.
        try server.setFaults([:])
        let fixed = try FaultServer(cli: cli, repos: ["acme/faulty": (commit, [
            .init(path: "config.json", bytes: MirrorGitTests.config, lfs: false),
            .init(path: "model-00001-of-00002.safetensors", bytes: good, lfs: true),
            .init(path: "model-00002-of-00002.safetensors", bytes: other, lfs: true),
        ], [])])
        let again = try cli.run(["mirror", "sync", "acme/faulty", "--endpoint", fixed.base])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("3 files, 1 fetched"), "\(again.stdout)")
    }

    @Test func transientFaultsAreRetriedWithBackoffAndResumeFromTheStagedOffset() throws {
        let cli = try CLI()
        let size = 600_000
        let files = (0..<5).map { FaultServer.ServedFile(path: "shard-\($0).bin", bytes: noise(size, seed: UInt64(40 + $0)), lfs: true) }
        let server = try server(cli, files + [.init(path: "config.json", bytes: MirrorGitTests.config, lfs: false)], pageSize: 2)
        try server.setFaults([
            "shard-0.bin": ["status": 503, "times": 2],
            "shard-1.bin": ["reset_at": 250_000, "times": 1],
            "shard-2.bin": ["truncate_at": 300_000, "times": 1],
            "shard-3.bin": ["status": 416, "times": 1],
            "config.json": ["status": 502, "times": 1],
        ])
        try add(cli, server)
        let sync = try sync(cli)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("6 files, 6 fetched"), "tree pages followed: \(sync.stdout)")
        #expect(sync.stderr.contains("shard-0.bin: HTTP 503; attempt 2"), "\(sync.stderr)")
        let requests = server.requests().filter { ($0["method"] as? String) == "GET" }
        func gets(_ name: String) -> [[String: Any]] { requests.filter { ($0["path"] as? String)?.hasSuffix("/\(name)") == true } }
        #expect(gets("shard-0.bin").map { $0["status"] as? Int } == [503, 503, 200])
        // Reset and truncation: the retry asks for the rest only.
        for name in ["shard-1.bin", "shard-2.bin"] {
            let attempts = gets(name)
            #expect(attempts.count == 2, "\(name): \(attempts)")
            let range = attempts.last?["range"] as? String ?? ""
            let resumedAt = Int(range.dropFirst("bytes=".count).dropLast()) ?? 0
            #expect(resumedAt > 0, "\(name) resumed with \(range)")
            #expect((attempts.last?["sent"] as? Int) == size - resumedAt)
        }
        #expect(gets("shard-3.bin").map { $0["status"] as? Int } == [416, 200])
        let loaded = try cli.loadOffline("acme/faulty")
        for file in files { #expect(loaded[file.path]?.sha256 == sha256Hex(file.bytes), "\(file.path)") }
    }

    @Test func persistentServerErrorsGiveUpAfterBoundedAttempts() throws {
        let cli = try CLI()
        let server = try server(cli, [.init(path: "weights.bin", bytes: noise(10_000), lfs: true),
                                      .init(path: "config.json", bytes: MirrorGitTests.config, lfs: false)])
        try server.setFaults(["weights.bin": ["status": 500]])
        try add(cli, server)
        let started = Date()
        let sync = try cli.run(["mirror", "sync", "acme/faulty", "--attempts", "3", "--retry-delay", "10"])
        #expect(sync.status != 0)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(sync.stderr.contains("weights.bin: GET \(server.base)/acme/faulty/resolve/\(commit)/weights.bin: HTTP 500, gave up after 3 attempts"), "\(sync.stderr)")
        #expect(server.requests().filter { ($0["path"] as? String)?.hasSuffix("/weights.bin") == true }.count == 3)
    }

    @Test func killedHalfWayResumesWithTheUnstagedTailOnlyAndA200RestartsCleanly() throws {
        let cli = try CLI()
        let size = 8 << 20
        let big = noise(size, seed: 77)
        let oid = sha256Hex(big)
        let server = try server(cli, [.init(path: "big.bin", bytes: big, lfs: true)])
        try server.setFaults(["big.bin": ["stall_at": 5 << 20]])
        try add(cli, server)

        // Run 1: kill -9 once at least 4 MiB are staged.
        let staged = cli.store.appendingPathComponent("staging/sha256-\(oid).part")
        let process = try cli.start(["mirror", "sync", "acme/faulty"])
        var stagedSize = 0
        for _ in 0..<300 {
            Thread.sleep(forTimeInterval: 0.05)
            stagedSize = ((try? FileManager.default.attributesOfItem(atPath: staged.path))?[.size] as? Int) ?? 0
            if stagedSize >= 4 << 20 { break }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        stagedSize = ((try? FileManager.default.attributesOfItem(atPath: staged.path))?[.size] as? Int) ?? 0
        #expect(stagedSize >= 4 << 20, "staged \(stagedSize)")

        // Run 2: only the tail moves, and the result verifies.
        try server.setFaults([:])
        server.clearLog()
        let resumed = try sync(cli)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at"), "\(resumed.stderr)")
        let gets = server.requests().filter { ($0["path"] as? String)?.hasSuffix("/big.bin") == true }
        #expect(gets.count == 1)
        #expect(gets.first?["range"] as? String == "bytes=\(stagedSize)-")
        #expect(gets.first?["sent"] as? Int == size - stagedSize, "re-downloaded at most the unstaged tail")
        #expect(try cli.loadOffline("acme/faulty")["big.bin"]?.sha256 == oid)
        let verify = try cli.run(["mirror", "verify"])
        #expect(verify.status == 0, "\(verify.stderr)")

        // A 200 answer to a Range request: the transfer starts over cleanly.
        let cli2 = try CLI()
        let server2 = try self.server(cli2, [.init(path: "big.bin", bytes: big, lfs: true)])
        // Run 1 is cut (connection reset) and gives up at once, leaving a staged prefix.
        try server2.setFaults(["big.bin": ["reset_at": 3 << 20, "times": 1]])
        try add(cli2, server2)
        let first = try cli2.run(["mirror", "sync", "acme/faulty", "--attempts", "1"])
        #expect(first.status != 0)
        try server2.setFaults(["big.bin": ["ignore_range": true]])
        server2.clearLog()
        let restarted = try sync(cli2)
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let answer = server2.requests().filter { ($0["path"] as? String)?.hasSuffix("/big.bin") == true }
        #expect(answer.count == 1)
        #expect((answer.first?["range"] as? String)?.hasPrefix("bytes=") == true)
        #expect(answer.first?["status"] as? Int == 200)
        #expect(answer.first?["sent"] as? Int == size)
        #expect(try cli2.loadOffline("acme/faulty")["big.bin"]?.sha256 == oid)
    }

    @Test func treeEntriesThatEscapeTheSnapshotAreRefused() throws {
        let cli = try CLI()
        let oid = String(repeating: "1", count: 40)
        let server = try server(cli, [.init(path: "config.json", bytes: MirrorGitTests.config, lfs: false)], extraTree: [
            ["type": "file", "path": "../escape.txt", "oid": oid, "size": 4],
            ["type": "file", "path": "/etc/passwd-copy", "oid": oid, "size": 4],
            ["type": "file", "path": ".git/config", "oid": oid, "size": 4],
            ["type": "file", "path": "a/../../b.txt", "oid": oid, "size": 4],
        ])
        try add(cli, server)
        let sync = try sync(cli)
        #expect(sync.status != 0)
        for (path, reason) in [("../escape.txt", "'..' component escapes the snapshot"), ("/etc/passwd-copy", "absolute path"),
                               (".git/config", "'.git' component would write into git metadata"),
                               ("a/../../b.txt", "'..' component escapes the snapshot")] {
            #expect(sync.stderr.contains("\(path): refused: \(reason)"), "\(path): \(sync.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: cli.store.appendingPathComponent("hub/escape.txt").path))
        #expect(cli.publishedSnapshots("acme/faulty").isEmpty)
    }

    @Test func unknownRepoAndRevisionSayWhatToDo() throws {
        let cli = try CLI()
        let server = try server(cli, [.init(path: "config.json", bytes: MirrorGitTests.config, lfs: false)])
        #expect(try cli.run(["mirror", "add", "acme/missing", "--endpoint", server.base]).status == 0)
        let missing = try cli.run(["mirror", "sync", "acme/missing"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("HTTP 404 [RepoNotFound]; check the repo id, or set HF_TOKEN if it is private"), "\(missing.stderr)")
        #expect(try cli.run(["mirror", "add", "acme/faulty", "--endpoint", server.base, "--revision", "v9"]).status == 0)
        let revision = try cli.run(["mirror", "sync", "acme/faulty"])
        #expect(revision.stderr.contains("[RevisionNotFound]; check --revision"), "\(revision.stderr)")
    }

    @Test func tokenIsSentButNeverLogged() throws {
        let cli = try CLI()
        let server = try server(cli, [.init(path: "config.json", bytes: MirrorGitTests.config, lfs: false)])
        try server.setFaults(["config.json": ["status": 503, "times": 1]])
        try add(cli, server)
        let sync = try cli.run(["mirror", "sync", "acme/faulty", "--retry-delay", "10"],
                               environment: ["HF_TOKEN": "hf_secret_token_123", "LINEAGE_LOG_LEVEL": "trace"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(!sync.stderr.contains("hf_secret_token_123") && !sync.stdout.contains("hf_secret_token_123"))
        #expect(server.requests().allSatisfy { ($0["auth"] as? String) == "Bearer hf_secret_token_123" })
    }
}
