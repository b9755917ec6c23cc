import Crypto
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Upstreams for the mirror tests, made with the real git and git-lfs command-line tools,
/// and the helpers that start servers and check results.
extension CLI {
    /// Git with a fixed identity, in `directory`.
    @discardableResult
    func git(_ arguments: [String], in directory: URL) throws -> Result {
        var environment = self.environment
        for (key, value) in ["GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                             "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"] {
            environment[key] = value
        }
        let result = try Self.run(URL(fileURLWithPath: "/usr/bin/env"), ["git"] + arguments, environment: environment, in: directory)
        if result.status != 0 {
            Issue.record("git \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result
    }

    /// A working copy with git-lfs tracking `lfsPatterns`, one commit of `files`, pushed to a
    /// bare `file://` remote (so its LFS objects land in the standalone layout,
    /// `<remote>.git/lfs/objects/aa/bb/<oid>`). Returns (working copy, bare remote).
    func makeUpstream(_ name: String, files: [String: [UInt8]], lfs lfsPatterns: [String] = ["*.safetensors", "*.bin"]) throws -> (work: URL, remote: URL) {
        let work = scratch.appendingPathComponent("upstream/\(name)")
        let remote = scratch.appendingPathComponent("upstream/\(name).git")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try git(["init", "-q", "-b", "main"], in: work)
        try git(["lfs", "install", "--local"], in: work)
        for pattern in lfsPatterns { try git(["lfs", "track", pattern], in: work) }
        try writeFiles(files, in: work)
        try git(["add", "-A"], in: work)
        try git(["commit", "-q", "-m", "first"], in: work)
        try git(["init", "-q", "--bare", remote.path], in: scratch)
        try git(["remote", "add", "origin", "file://\(remote.path)"], in: work)
        try git(["push", "-q", "origin", "main"], in: work)
        return (work, remote)
    }

    func writeFiles(_ files: [String: [UInt8]], in directory: URL) throws {
        for (path, bytes) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
    }

    /// Commits `files` in `work` and pushes to origin. `lfsPush: false` skips git-lfs's
    /// pre-push hook (for pointers that lie, or objects the LFS server must not get).
    func commitAndPush(_ files: [String: [UInt8]], in work: URL, message: String = "update", lfsPush: Bool = true) throws {
        try writeFiles(files, in: work)
        try git(["add", "-A"], in: work)
        try git(["commit", "-q", "-m", message], in: work)
        try git(["push", "-q"] + (lfsPush ? [] : ["--no-verify"]) + ["origin", "main"], in: work)
    }

    /// The commits the cache view has snapshots of.
    func publishedSnapshots(_ repo: String) -> [String] {
        let folder = store.appendingPathComponent("hub/models--\(repo.replacingOccurrences(of: "/", with: "--"))/snapshots")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// Runs `lineage` in the background (for the kill -9 test), output to files.
    func start(_ arguments: [String], environment extra: [String: String?] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = environment.merging(extra)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Loads `repo` with huggingface_hub from the store's cache view, offline; returns
    /// path -> sha256 of the bytes it got, and the real file behind each.
    func loadOffline(_ repo: String, revision: String? = nil) throws -> [String: (sha256: String, real: String)] {
        let result = try Self.run(URL(fileURLWithPath: "/usr/bin/env"),
                                  ["python3", Self.packageRoot.appendingPathComponent("Tests/Scripts/hf_offline_check.py").path, repo] + (revision.map { [$0] } ?? []),
                                  environment: environment.merging(["HF_HUB_CACHE": store.appendingPathComponent("hub").path, "HF_HUB_OFFLINE": "1",
                                                                    "HF_ENDPOINT": "http://127.0.0.1:9"]),
                                  in: scratch)
        guard result.status == 0, let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let files = json["files"] as? [String: [String: String]] else {
            Issue.record("huggingface_hub could not load \(repo) offline: \(result.stderr)")
            return [:]
        }
        return files.mapValues { ($0["sha256"] ?? "", $0["real"] ?? "") }
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

func sha256Hex(file url: URL) throws -> String {
    try sha256Hex(Array(Data(contentsOf: url)))
}

/// Deterministic pseudo-random bytes.
func noise(_ count: Int, seed: UInt64 = 88172645463325252) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return bytes
}

enum Safetensors {
    /// A valid file: F32 tensors laid end to end.
    static func valid(_ tensors: [(name: String, shape: [Int])], seed: UInt64 = 7) -> [UInt8] {
        var entries: [String] = []
        var offset = 0
        for tensor in tensors {
            let bytes = tensor.shape.reduce(4, *)
            entries.append("\"\(tensor.name)\":{\"dtype\":\"F32\",\"shape\":\(tensor.shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        return assemble("{" + entries.joined(separator: ",") + "}", data: noise(offset, seed: seed))
    }

    /// Two tensors whose byte ranges overlap.
    static func overlapping() -> [UInt8] {
        assemble("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                 data: noise(24))
    }

    /// A header length field claiming 4 GB of JSON.
    static func hugeHeaderClaim() -> [UInt8] {
        var bytes = withUnsafeBytes(of: UInt64(4_000_000_000).littleEndian) { Array($0) }
        bytes += Array("{\"a\":{}}".utf8) + noise(64)
        return bytes
    }

    static func assemble(_ header: String, data: [UInt8]) -> [UInt8] {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json + data
    }
}

extension CLI {
    /// Starts `python3 Tests/Scripts/<script> arguments --port-file <portFile>` (a test server
    /// that binds 127.0.0.1 port 0 and writes the port it got) and waits for that port.
    static func startServerScript(_ script: String, _ arguments: [String], portFile: URL) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot.appendingPathComponent("Tests/Scripts/\(script)").path]
            + arguments + ["--port-file", portFile.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var port = 0
        for _ in 0..<200 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let value = Int(text) { port = value; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if port == 0 { Issue.record("\(script) did not start") }
        return (process, port)
    }
}

/// fault_hub.py: a Hub API + LFS batch server on 127.0.0.1 with injected faults.
final class FaultServer {
    let process: Process
    let port: Int
    let directory: URL
    var faultsFile: URL { directory.appendingPathComponent("faults.json") }
    var logFile: URL { directory.appendingPathComponent("requests.log") }
    var base: String { "http://127.0.0.1:\(port)" }

    struct ServedFile {
        var path: String
        var bytes: [UInt8]
        var lfs: Bool
        /// Bytes sent instead of `bytes` (the tree still advertises `bytes`).
        var serve: [UInt8]? = nil
    }

    init(cli: CLI, repos: [String: (commit: String, files: [ServedFile], extraTree: [[String: Any]])], pageSize: Int = 50) throws {
        directory = cli.scratch.appendingPathComponent("fault-hub-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var manifest: [String: Any] = [:]
        for (id, repo) in repos {
            var entries: [[String: Any]] = []
            for (index, file) in repo.files.enumerated() {
                let content = directory.appendingPathComponent("content-\(id.replacingOccurrences(of: "/", with: "_"))-\(index)")
                try Data(file.bytes).write(to: content)
                var entry: [String: Any] = ["path": file.path, "content": content.path, "lfs": file.lfs]
                if let serve = file.serve {
                    let other = content.appendingPathExtension("served")
                    try Data(serve).write(to: other)
                    entry["serve"] = other.path
                }
                entries.append(entry)
            }
            manifest[id] = ["commit": repo.commit, "files": entries, "extra_tree": repo.extraTree]
        }
        let manifestFile = directory.appendingPathComponent("manifest.json")
        try JSONSerialization.data(withJSONObject: ["repos": manifest]).write(to: manifestFile)
        try Data("{}".utf8).write(to: directory.appendingPathComponent("faults.json"))
        let started = try CLI.startServerScript("fault_hub.py", [
            "--manifest", manifestFile.path, "--faults", directory.appendingPathComponent("faults.json").path,
            "--log", directory.appendingPathComponent("requests.log").path, "--page-size", String(pageSize),
        ], portFile: directory.appendingPathComponent("port"))
        process = started.0
        port = started.1
    }

    deinit {
        // SIGKILL: a handler stalled on purpose never answers a polite SIGTERM, and a test
        // process may run with SIGTERM ignored (which the child would inherit).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func setFaults(_ faults: [String: Any]) throws {
        let temporary = faultsFile.appendingPathExtension("tmp")
        try JSONSerialization.data(withJSONObject: faults).write(to: temporary)
        _ = rename(temporary.path, faultsFile.path)
    }

    /// Every request so far, oldest first.
    func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func clearLog() { try? Data().write(to: logFile) }
}

/// A 40-hex commit id for fault_hub repos.
func fakeCommit(_ seed: String) -> String {
    Insecure.SHA1.hash(data: Array(seed.utf8)).map { String(format: "%02x", $0) }.joined()
}
