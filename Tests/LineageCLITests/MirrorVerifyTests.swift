import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lineage mirror verify`: the scrub finds bytes that rotted in the store, quarantines them,
/// takes them out of the cache view, and the next sync fetches them again.
@Suite(.serialized) struct MirrorVerifyTests {
    @Test func scrubFindsRotAndMissingBlobsAndSyncRepairsThem() throws {
        let cli = try CLI()
        let weights = Safetensors.valid([("w", [256, 256])], seed: 91)
        let extra = noise(2 << 20, seed: 92)
        let (_, remote) = try cli.makeUpstream("rot", files: ["model.safetensors": weights, "extra.bin": extra,
                                                             "config.json": MirrorGitTests.config])
        #expect(try cli.run(["mirror", "add", "file://\(remote.path)", "--as", "acme/rot"]).status == 0)
        #expect(try cli.run(["mirror", "sync"]).status == 0)
        let clean = try cli.run(["mirror", "verify", "--workers", "2"])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("verified 4 blobs"), "\(clean.stdout)")
        #expect(clean.stdout.contains("2 workers"), "\(clean.stdout)")

        // One blob rots in place (a flipped bit), another disappears.
        let oid = sha256Hex(weights)
        let blob = cli.store.appendingPathComponent("blobs/sha256/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        var rotten = try Data(contentsOf: blob)
        rotten[rotten.count / 2] ^= 0x10
        chmod(blob.path, 0o644)
        try rotten.write(to: blob)
        let lostOID = sha256Hex(extra)
        unlink(cli.store.appendingPathComponent("blobs/sha256/\(lostOID.prefix(2))/\(lostOID.dropFirst(2).prefix(2))/\(lostOID)").path)

        let scrub = try cli.run(["mirror", "verify"])
        #expect(scrub.status != 0)
        #expect(scrub.stderr.contains("rotten blob sha256:\(oid): now hashes to sha256:\(sha256Hex(Array(rotten)))"), "\(scrub.stderr)")
        #expect(scrub.stderr.contains(":model.safetensors"), "\(scrub.stderr)")
        #expect(scrub.stderr.contains("missing blob sha256:\(lostOID)"), "\(scrub.stderr)")
        #expect(!FileManager.default.fileExists(atPath: blob.path))
        #expect(!FileManager.default.fileExists(atPath: cli.store.appendingPathComponent("hub/models--acme--rot/blobs/\(oid)").path),
                "rotten bytes leave the cache view")
        let record = try cli.tool("sqlite3", [cli.store.appendingPathComponent("lineage.sqlite").path,
                                              "SELECT path, expected, reason FROM mirror_quarantine"])
        #expect(record.stdout.contains("model.safetensors|sha256:\(oid)|scrub: stored bytes changed"), "\(record.stdout)")

        // The next sync fetches exactly what was lost, and the store verifies again.
        let repair = try cli.run(["mirror", "sync"])
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(repair.stdout.contains("2 fetched"), "\(repair.stdout)")
        #expect(try cli.run(["mirror", "verify"]).status == 0)
        let loaded = try cli.loadOffline("acme/rot")
        #expect(loaded["model.safetensors"]?.sha256 == oid)
        #expect(loaded["extra.bin"]?.sha256 == lostOID)
    }
}
