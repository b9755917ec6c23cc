import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bad input from git upstreams: lying pointers, malformed safetensors, the LFS batch API
/// (auth headers from the response, per-object errors, expiry), and a disk that fills up.
@Suite(.serialized) struct MirrorGitFaultTests {
    @Test func lfsBatchAPIFromLFSConfigWithActionHeadersErrorsAndExpiry() throws {
        let cli = try CLI()
        let weights = Safetensors.valid([("w", [128, 32])], seed: 51)
        let served = noise(200_000, seed: 52)
        // The LFS server knows two objects; the repo points at a third it does not have.
        let server = try FaultServer(cli: cli, repos: ["lfs/objects": (fakeCommit("lfs"), [
            .init(path: "model.safetensors", bytes: weights, lfs: true),
            .init(path: "data.bin", bytes: served, lfs: true),
        ], [])])
        // Actions expire at once: the client must ask the batch API again before each GET.
        try server.setFaults(["expires_in": 1])
        let (work, remote) = try cli.makeUpstream("batch", files: [
            "model.safetensors": weights, "data.bin": served, "config.json": MirrorGitTests.config,
            ".lfsconfig": Array("[lfs]\n\turl = \(server.base)/lfs\n".utf8),
        ])
        // The objects live only on the LFS server: empty the remote's standalone store.
        try? FileManager.default.removeItem(at: remote.appendingPathComponent("lfs"))
        #expect(try cli.run(["mirror", "add", "file://\(remote.path)", "--as", "acme/batch"]).status == 0)
        server.clearLog()  // git-lfs's own push talked to the server too
        let sync = try cli.run(["mirror", "sync", "acme/batch"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let requests = server.requests()
        let batches = requests.filter { ($0["method"] as? String) == "POST" }
        #expect(batches.count == 3, "one batch, then one renewal per expired action: \(batches)")
        let gets = requests.filter { ($0["method"] as? String) == "GET" }
        #expect(gets.count == 2 && gets.allSatisfy { ($0["status"] as? Int) == 200 && ($0["auth"] as? String) == "RemoteAuth from-batch-action" })
        #expect(try cli.loadOffline("acme/batch")["model.safetensors"]?.sha256 == sha256Hex(weights))

        // A new commit adds an object the LFS server does not have: a per-object error.
        try server.setFaults([:])
        try cli.commitAndPush(["missing.bin": noise(1000, seed: 53)], in: work, lfsPush: false)
        try? FileManager.default.removeItem(at: remote.appendingPathComponent("lfs"))
        let missing = try cli.run(["mirror", "sync", "acme/batch"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("missing.bin: the LFS server does not have this object (LFS error 404: Object does not exist)"), "\(missing.stderr)")
    }

    @Test func lyingPointersAndMalformedSafetensorsAreRejectedWithTheReason() throws {
        let cli = try CLI()
        let good = Safetensors.valid([("w", [16, 16])], seed: 61)
        let (_, remote) = try cli.makeUpstream("liar", files: [
            "good.safetensors": good,
            "huge-header.safetensors": Safetensors.hugeHeaderClaim(),
            "overlap.safetensors": Safetensors.overlapping(),
            "config.json": MirrorGitTests.config,
        ])
        // Pointers written by hand (outside any LFS pattern, so git stores them as they are).
        let goodOID = sha256Hex(good)
        let work = cli.scratch.appendingPathComponent("upstream/liar")
        try cli.commitAndPush([
            "lies/bad-oid.txt": Array("version https://git-lfs.github.com/spec/v1\noid sha256:NOT-HEX\nsize 10\n".utf8),
            "lies/wrong-size.txt": Array("version https://git-lfs.github.com/spec/v1\noid sha256:\(goodOID)\nsize \(good.count + 10)\n".utf8),
        ], in: work, lfsPush: false)
        #expect(try cli.run(["mirror", "add", "file://\(remote.path)", "--as", "acme/liar"]).status == 0)
        let sync = try cli.run(["mirror", "sync", "acme/liar"])
        #expect(sync.status != 0)
        let stderr = sync.stderr
        #expect(stderr.contains("lies/bad-oid.txt: refused: the LFS pointer lies: oid 'sha256:NOT-HEX' is not sha256: followed by 64 lowercase hex digits"), "\(stderr)")
        #expect(stderr.contains("lies/wrong-size.txt: upstream sent wrong bytes: expected sha256:\(goodOID) (\(good.count + 10) bytes), got sha256:\(goodOID) (\(good.count) bytes)"), "\(stderr)")
        #expect(stderr.contains("huge-header.safetensors: rejected: huge-header.safetensors is not a valid safetensors file: header length 4000000000 exceeds the 100,000,000-byte limit"), "\(stderr)")
        #expect(stderr.contains("overlap.safetensors: rejected: overlap.safetensors is not a valid safetensors file: data_offsets overlaps the previous tensor"), "\(stderr)")
        #expect(cli.publishedSnapshots("acme/liar").isEmpty)
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func diskFullDuringATransferIsAClearErrorAndLeavesTheStoreIntact() throws {
        let cli = try CLI()
        let small = cli.scratch.appendingPathComponent("small-disk")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        let mount = try cli.tool("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", small.path])
        try #require(mount.status == 0, "cannot mount a tmpfs here: \(mount.stderr)")
        defer { _ = try? cli.tool("umount", [small.path]) }
        let store = small.appendingPathComponent("store")
        let (_, remote) = try cli.makeUpstream("fat", files: ["weights.bin": noise(12 << 20, seed: 71), "config.json": MirrorGitTests.config])
        let env: [String: String?] = ["LINEAGE_STORE": store.path]
        #expect(try cli.run(["mirror", "add", "file://\(remote.path)", "--as", "acme/fat"], environment: env).status == 0)
        let sync = try cli.run(["mirror", "sync", "acme/fat"], environment: env)
        #expect(sync.status != 0)
        #expect(sync.stderr.contains("weights.bin: the disk is full (ENOSPC) writing \(store.path)/staging/"), "\(sync.stderr)")
        #expect(sync.stderr.contains("Free space (or move the store with --store) and sync again"), "\(sync.stderr)")
        // The store is intact: the database answers, nothing half-written is left, what is
        // stored verifies, and the partial transfer was removed to free the space.
        let ls = try cli.run(["mirror", "ls"], environment: env)
        #expect(ls.status == 0 && ls.stdout.contains("acme/fat"), "\(ls.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("staging").path).isEmpty)
        let verify = try cli.run(["mirror", "verify"], environment: env)
        #expect(verify.status == 0, "\(verify.stderr)")
        let integrity = try cli.tool("sqlite3", [store.appendingPathComponent("lineage.sqlite").path, "PRAGMA integrity_check"])
        #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }
}
