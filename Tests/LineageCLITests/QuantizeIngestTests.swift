import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Quantize on ingest: a tiny Llama mirrored from a local git + LFS upstream with
/// `--quantize`, made into GGUFs from the store's blobs, published as `acme/NAME-GGUF`,
/// recorded as artifacts and lineage, never made twice; `lineage quantize REPO@REV`; a bad
/// checkpoint; and the daemon's quantize jobs, killed with -9 and resumed.
@Suite(.serialized) struct QuantizeIngestTests {
    /// The files of a tiny Llama from Tests/Scripts/make_tiny_llama.py (the checkpoint the
    /// `lineage quantize` CLI tests use), and the folder they are in.
    func tinyLlama(_ cli: CLI, _ name: String, _ options: [String] = []) throws -> (dir: URL, files: [String: [UInt8]]) {
        let dir = cli.scratch.appendingPathComponent("checkpoint-\(name)")
        let made = try cli.python("make_tiny_llama.py", [dir.path] + options)
        #expect(made.status == 0, "\(made.stderr)")
        var files: [String: [UInt8]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            files[file] = Array(try Data(contentsOf: dir.appendingPathComponent(file)))
        }
        return (dir, files)
    }

    /// What `lineage quantize DIR` makes of the same files (proven byte-identical to llama.cpp
    /// in QuantizationIdentityTests), with the provenance ingest gives a mirrored repo.
    func reference(_ cli: CLI, _ dir: URL, repo: String, preset: String) throws -> String {
        let out = cli.scratch.appendingPathComponent("reference-\(preset).gguf")
        let result = try cli.run(["quantize", dir.path, "--type", preset, "--source-repo", repo, "-o", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        return try sha256Hex(file: out)
    }

    func sql(_ cli: CLI, _ query: String) throws -> String {
        try cli.tool("sqlite3", [cli.store.appendingPathComponent("lineage.sqlite").path, query]).stdout
    }

    func stagedProducts(_ cli: CLI) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cli.store.appendingPathComponent("staging").path)) ?? [])
            .filter { $0.hasPrefix("made-") }
    }

    @Test func eachPresetIsMadeOnceFromTheStoredBlobsAndPublishedAsItsOwnRepo() throws {
        let cli = try CLI()
        let (dir, files) = try tinyLlama(cli, "tiny")
        let upstream = try cli.makeUpstream("tiny", files: files)
        let add = try cli.run(["mirror", "add", "file://\(upstream.remote.path)", "--as", "acme/tiny", "--quantize", "Q8_0,q4_k_m"])
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("quantizing to Q8_0, Q4_K_M as acme/tiny-GGUF"), "\(add.stdout)")
        let refused = try cli.run(["mirror", "add", "file://\(upstream.remote.path)", "--as", "acme/other", "--quantize", "Q3_K"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("unknown quantization 'Q3_K' (allowed: F32, F16, BF16, Q8_0"), "\(refused.stderr)")

        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("made acme/tiny-GGUF/tiny-Q8_0.gguf (Q8_0, "), "\(sync.stdout)")
        #expect(sync.stdout.contains("made acme/tiny-GGUF/tiny-Q4_K_M.gguf (Q4_K_M, "), "\(sync.stdout)")

        // The same bytes as `lineage quantize DIR`, stored as blobs and laid out in the cache view.
        let snapshots = cli.publishedSnapshots("acme/tiny-GGUF")
        #expect(snapshots.count == 1)
        let offline = try cli.loadOffline("acme/tiny-GGUF")
        #expect(Set(offline.keys) == ["tiny-Q8_0.gguf", "tiny-Q4_K_M.gguf"])
        var digests: [String: String] = [:]
        for preset in ["Q8_0", "Q4_K_M"] {
            let expected = try reference(cli, dir, repo: "acme/tiny", preset: preset)
            digests[preset] = expected
            #expect(offline["tiny-\(preset).gguf"]?.sha256 == expected, "\(preset)")
            let blob = cli.store.appendingPathComponent("blobs/sha256/\(expected.prefix(2))/\(expected.dropFirst(2).prefix(2))/\(expected)")
            #expect(FileManager.default.fileExists(atPath: blob.path), "\(preset) is not a store blob")
        }

        // Recorded: the artifacts (inputs, preset, converter -> output), the -GGUF repo, the lineage edge.
        let artifacts = try sql(cli, "SELECT source_repo, recipe, producer, output FROM mirror_artifact ORDER BY recipe")
        #expect(artifacts == """
            acme/tiny|quantize Q4_K_M|lineage-convert 1|\(digests["Q4_K_M"]!)
            acme/tiny|quantize Q8_0|lineage-convert 1|\(digests["Q8_0"]!)

            """, "\(artifacts)")
        let inputs = try sql(cli, "SELECT json_array_length(inputs) FROM mirror_artifact LIMIT 1")
        #expect(Int(inputs.trimmingCharacters(in: .whitespacesAndNewlines)) == files.count + 1)  // + .gitattributes
        let list = try cli.run(["mirror", "ls"])
        #expect(list.stdout.contains("acme/tiny\tgit\t") && list.stdout.contains("\tquantize=Q8_0,Q4_K_M"), "\(list.stdout)")
        #expect(list.stdout.contains("acme/tiny-GGUF\tderived\tfrom:acme/tiny\tdefault"), "\(list.stdout)")
        #expect(list.stdout.contains("  \(snapshots[0])\t2 files\t"), "\(list.stdout)")
        let edge = try sql(cli, """
            SELECT parent.id, child.id, edge.relation, edge.provenance FROM edge
            JOIN node AS parent ON parent.key = edge.parent JOIN node AS child ON child.key = edge.child
            WHERE child.id = 'acme/tiny-GGUF'
            """)
        #expect(edge == "acme/tiny|acme/tiny-GGUF|quantized|declared\n", "\(edge)")
        #expect(try sql(cli, "SELECT kind FROM node WHERE id = 'acme/tiny-GGUF'") == "quantized\n")

        // A second sync: nothing new upstream, nothing made again, the same artifacts.
        let again = try cli.run(["mirror", "sync"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!again.stdout.contains("made acme/tiny-GGUF"), "\(again.stdout)")
        #expect(again.stdout.contains("kept acme/tiny-GGUF/tiny-Q8_0.gguf (Q8_0, ") && again.stdout.contains("already made from the same inputs"),
                "\(again.stdout)")
        #expect(try sql(cli, "SELECT source_repo, recipe, producer, output FROM mirror_artifact ORDER BY recipe") == artifacts)
        #expect(cli.publishedSnapshots("acme/tiny-GGUF") == snapshots)
        #expect(stagedProducts(cli).isEmpty)
        // A derived repo is not synced from anywhere.
        let direct = try cli.run(["mirror", "sync", "acme/tiny-GGUF"])
        #expect(direct.status == 1)
        #expect(direct.stderr.contains("acme/tiny-GGUF is made here from acme/tiny (quantize on ingest), not synced; sync acme/tiny instead"), "\(direct.stderr)")

        // `lineage quantize REPO@REV` reads the mirrored commit from the store.
        let out = cli.scratch.appendingPathComponent("from-store.gguf")
        let fromStore = try cli.run(["quantize", "acme/tiny@main", "--type", "Q8_0", "-o", out.path])
        #expect(fromStore.status == 0, "\(fromStore.stderr)")
        #expect(try sha256Hex(file: out) == digests["Q8_0"])
        let unknown = try cli.run(["quantize", "acme/tiny@no-such-branch", "--type", "Q8_0", "-o", out.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("acme/tiny has no published commit 'no-such-branch'"), "\(unknown.stderr)")
    }

    @Test func aBadCheckpointNamesTheTensorPublishesTheSourceAndStoresNothingPartial() throws {
        let cli = try CLI()
        var (_, files) = try tinyLlama(cli, "bad")
        let config = String(decoding: files["config.json"]!, as: UTF8.self)
        files["config.json"] = Array(config.replacingOccurrences(of: "\"intermediate_size\": 512", with: "\"intermediate_size\": 1024").utf8)
        let upstream = try cli.makeUpstream("bad", files: files)
        #expect(try cli.run(["mirror", "add", "file://\(upstream.remote.path)", "--as", "acme/bad", "--quantize", "Q4_K_M"]).status == 0)
        let sync = try cli.run(["mirror", "sync"])
        #expect(sync.status == 1)
        #expect(sync.stdout.contains("synced acme/bad@"), "\(sync.stdout)")
        #expect(sync.stderr.contains("quantize Q4_K_M: "), "\(sync.stderr)")
        #expect(sync.stderr.contains("(tensor 'model.layers.0.mlp.down_proj.weight'): shape [256, 512] disagrees with "), "\(sync.stderr)")
        #expect(sync.stderr.contains("nothing was stored for it"), "\(sync.stderr)")
        // The source commit is published; no -GGUF repo, artifact or partial bytes exist.
        #expect(cli.publishedSnapshots("acme/bad").count == 1)
        #expect(cli.publishedSnapshots("acme/bad-GGUF").isEmpty)
        #expect(try sql(cli, "SELECT COUNT(*) FROM mirror_artifact") == "0\n")
        #expect(!(try cli.run(["mirror", "ls"]).stdout.contains("acme/bad-GGUF")))
        #expect(stagedProducts(cli).isEmpty)
        let blobs = try sql(cli, "SELECT COUNT(*) FROM mirror_blob").trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = FileManager.default.enumerator(atPath: cli.store.appendingPathComponent("blobs").path)?
            .compactMap { $0 as? String }.filter { $0.split(separator: "/").count == 4 }.count
        #expect(stored == Int(blobs), "every stored blob is a recorded source file")
        #expect(try sql(cli, "SELECT COUNT(*) FROM mirror_file WHERE repo_id = 'acme/bad'") == "\(files.count + 1)\n")
    }
}

/// The daemon's quantize jobs: queued after a verified sync, killed with -9 mid-quantization,
/// finished by the next start; the `-GGUF` repo served to huggingface_hub.
@Suite(.serialized) struct DaemonQuantizeTests {
    @Test func killedDuringAQuantizationTheRestartedDaemonFinishesItAndServesTheGGUF() throws {
        let cli = try CLI()
        let ingest = QuantizeIngestTests()
        // Big enough that a debug build is still quantizing when the kill arrives.
        let (dir, files) = try ingest.tinyLlama(cli, "big", ["--hidden", "512", "--ffn", "2048", "--layers", "12", "--heads", "8"])
        let upstream = try cli.makeUpstream("big", files: files)
        let config = try cli.write("""
            listen: 127.0.0.1:0
            repos:
              - id: acme/big
                source: git
                url: file://\(upstream.remote.path)
                quantize: [Q4_K_M, Q6_K]
            """, to: "daemon.yaml")
        let environment: [String: String?] = ["LINEAGE_DAEMON_TICK_MS": "50", "LINEAGE_LOG_LEVEL": "info"]
        let first = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: environment)
        #expect(first.waitForLog("quantizing to acme/big-GGUF/", seconds: 240), "\(first.log)")
        // Nothing half-made is ever served.
        let early = try first.get("/api/models/acme/big-GGUF")
        #expect(early.status == 404 || early.status == 200)
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let left = try ingest.sql(cli, "SELECT state FROM daemon_job WHERE kind = 'quantize'")
        let killedMidJob = left.contains("running")

        let second = try RunningDaemon(cli, ["daemon", "--config", config.path], environment: environment)
        defer { second.stop() }
        let jobs = DaemonJobTests()
        #expect(try jobs.waitFor(600) {
            try jobs.jobs(second).contains { $0["kind"] as? String == "quantize" && $0["state"] as? String == "done" }
        }, "\(second.log)")
        if killedMidJob {
            #expect(second.log.contains("resuming a job left running by a stopped daemon"), "\(second.log)")
        }
        let quantizeJobs = try jobs.jobs(second).filter { $0["kind"] as? String == "quantize" }
        #expect(quantizeJobs.count == 1, "\(quantizeJobs)")
        #expect(ingest.stagedProducts(cli).isEmpty)

        // The served GGUFs are the bytes `lineage quantize DIR` makes, whole.
        var expected: [String: String] = [:]
        for preset in ["Q4_K_M", "Q6_K"] {
            let name = "big-\(preset).gguf"
            expected[name] = try ingest.reference(cli, dir, repo: "acme/big", preset: preset)
            let reply = try second.get("/acme/big-GGUF/resolve/main/\(name)")
            #expect(reply.status == 200 && sha256Hex(reply.bytes) == expected[name], "\(name)")
        }
        // The lineage JSON lists the quantizations with the source model's mirror state.
        let models = try second.get("/api/lineage/models").text
        #expect(models.contains(#""preset":"Q6_K""#) && models.contains(#""file":"big-Q6_K.gguf""#), "\(models.prefix(2000))")
        let metrics = try second.get("/metrics").text
        #expect(metrics.contains(#"lineage_jobs_total{kind="quantize",outcome="done"}"#), "\(metrics)")

        // Real huggingface_hub against the daemon: the -GGUF repo byte for byte.
        let hf: [String: String?] = [
            "HF_ENDPOINT": second.base, "HF_HUB_CACHE": cli.scratch.appendingPathComponent("hf-cache").path,
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": nil, "HF_TOKEN": nil,
        ]
        let check = try CLI.run(URL(fileURLWithPath: "/usr/bin/env"),
                                ["python3", CLI.packageRoot.appendingPathComponent("Tests/Scripts/hf_daemon_check.py").path, "acme/big-GGUF"],
                                environment: cli.environment.merging(hf), in: cli.scratch)
        #expect(check.status == 0, "\(check.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
        #expect(json["downloads"] as? [String: String] == expected)
        #expect(json["snapshot"] as? [String: String] == expected)
        let siblings = try #require(json["siblings"] as? [String: [String: Any]])
        for (name, digest) in expected { #expect(siblings[name]?["lfs"] as? String == digest, "\(name)") }
    }
}
