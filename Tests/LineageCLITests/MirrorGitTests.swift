import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lineage mirror` against upstreams made with the real git and git-lfs, loaded back with the
/// real huggingface_hub from the cache view, offline.
@Suite(.serialized) struct MirrorGitTests {
    static let card = Array("""
        ---
        base_model: meta-llama/Llama-2-7b-hf
        license: llama2
        ---
        # tiny fine-tune
        """.utf8)
    static let config = Array(#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8}"#.utf8)

    func upstreamFiles() -> [String: [UInt8]] {
        [
            "README.md": Self.card,
            "config.json": Self.config,
            "model.safetensors": Safetensors.valid([("w", [64, 64]), ("b", [64])]),
            "tokenizer/tokenizer.json": Array(#"{"version": "1.0"}"#.utf8),
            "extra.bin": noise(300_000, seed: 3),
        ]
    }

    @Test func mirrorsAFileRemoteWithLFSAndServesItOffline() throws {
        let cli = try CLI()
        let files = upstreamFiles()
        let (work, remote) = try cli.makeUpstream("tiny", files: files)

        let add = try cli.run(["mirror", "add", "file://\(remote.path)", "--as", "acme/tiny"])
        #expect(add.status == 0, "\(add.stderr)")
        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("synced acme/tiny@"), "\(sync.stdout)")
        #expect(sync.stdout.contains("6 files, 6 fetched"), "\(sync.stdout)")  // .gitattributes too
        // Not a terminal: plain log lines.
        #expect(sync.stderr.contains("acme/tiny: verified model.safetensors"), "\(sync.stderr)")

        // huggingface_hub, offline, from the cache view: the same bytes as upstream.
        let loaded = try cli.loadOffline("acme/tiny")
        for (path, bytes) in files {
            #expect(loaded[path]?.sha256 == sha256Hex(bytes), "\(path)")
        }
        // No copy: the cache view's blob is the store's inode.
        let oid = sha256Hex(files["model.safetensors"]!)
        let storeBlob = cli.store.appendingPathComponent("blobs/sha256/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        var viewInfo = stat(), storeInfo = stat()
        #expect(stat(loaded["model.safetensors"]!.real, &viewInfo) == 0)
        #expect(stat(storeBlob.path, &storeInfo) == 0)
        #expect(viewInfo.st_ino == storeInfo.st_ino)
        #expect(storeInfo.st_nlink >= 2)

        // The bare mirror has every ref of the remote.
        let refs = try cli.git(["for-each-ref", "--format=%(refname)"], in: cli.store.appendingPathComponent("git/acme/tiny.git"))
        #expect(refs.stdout.contains("refs/heads/main"))

        // Lineage: the card's base_model became an edge.
        let ancestors = try cli.run(["ancestors", "acme/tiny"])
        #expect(ancestors.stdout.lowercased().contains("llama-2-7b"), "\(ancestors.stdout) \(ancestors.stderr)")

        // A new upstream commit and a deleted branch: synced again with prune; only the
        // changed file moves.
        try cli.git(["push", "-q", "origin", "main:refs/heads/old"], in: work)
        _ = try cli.run(["mirror", "sync", "acme/tiny"])
        #expect(try cli.git(["for-each-ref"], in: cli.store.appendingPathComponent("git/acme/tiny.git")).stdout.contains("refs/heads/old"))
        try cli.git(["push", "-q", "origin", ":refs/heads/old"], in: work)
        var changed = files
        changed["config.json"] = Array(#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16}"#.utf8)
        try cli.commitAndPush(["config.json": changed["config.json"]!], in: work)
        let second = try cli.run(["mirror", "sync", "acme/tiny"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("1 fetched"), "\(second.stdout)")
        #expect(!(try cli.git(["for-each-ref"], in: cli.store.appendingPathComponent("git/acme/tiny.git")).stdout.contains("refs/heads/old")))
        #expect(try cli.loadOffline("acme/tiny")["config.json"]?.sha256 == sha256Hex(changed["config.json"]!))

        // gc drops the old commit (no ref points at it) and the blob only it used.
        let gc = try cli.run(["mirror", "gc"])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stdout.contains("1 old commit(s) dropped, 1 blob(s) deleted"), "\(gc.stdout)")
        let ls = try cli.run(["mirror", "ls"])
        #expect(ls.stdout.contains("acme/tiny\tgit\t"), "\(ls.stdout)")
        #expect(ls.stdout.components(separatedBy: "6 files").count == 2, "\(ls.stdout)")

        // rm then gc: nothing of the repo is left.
        #expect(try cli.run(["mirror", "rm", "acme/tiny"]).status == 0)
        #expect(try cli.run(["mirror", "gc"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.store.appendingPathComponent("hub/models--acme--tiny").path))
        #expect(!FileManager.default.fileExists(atPath: storeBlob.path))
    }

    @Test func mirrorsALocalWorkingCopyAndDerivesTheRepoID() throws {
        let cli = try CLI()
        let (work, _) = try cli.makeUpstream("org/local-model", files: ["config.json": Self.config, "w.safetensors": Safetensors.valid([("x", [8])])])
        let add = try cli.run(["mirror", "add", work.path])
        #expect(add.stdout.contains("tracking org/local-model"), "\(add.stdout) \(add.stderr)")
        let sync = try cli.run(["mirror", "sync", "org/local-model"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try cli.loadOffline("org/local-model")["w.safetensors"]?.sha256 == sha256Hex(Safetensors.valid([("x", [8])])))
    }

    @Test func sharedBlobsAreStoredOnceAndIncludeGlobsApply() throws {
        let cli = try CLI()
        let shared = Safetensors.valid([("w", [32, 32])], seed: 11)
        let (_, first) = try cli.makeUpstream("one", files: ["model.safetensors": shared, "config.json": Self.config])
        let (_, second) = try cli.makeUpstream("two", files: ["model.safetensors": shared, "notes.txt": Array("x".utf8)])
        #expect(try cli.run(["mirror", "add", "file://\(first.path)", "--as", "acme/one"]).status == 0)
        #expect(try cli.run(["mirror", "add", "file://\(second.path)", "--as", "acme/two", "--include", "*.safetensors"]).status == 0)
        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("synced acme/two@"), "\(sync.stdout)")
        #expect(sync.stdout.contains("1 files, 0 fetched"), "the shared blob came from the store: \(sync.stdout)")
        let loaded = try cli.loadOffline("acme/two")
        #expect(Set(loaded.keys) == ["model.safetensors"])
        // rm one repo, gc: the shared blob stays for the other.
        #expect(try cli.run(["mirror", "rm", "acme/one"]).status == 0)
        #expect(try cli.run(["mirror", "gc"]).status == 0)
        #expect(try cli.loadOffline("acme/two")["model.safetensors"]?.sha256 == sha256Hex(shared))
    }
}
