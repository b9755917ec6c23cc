import Foundation
import Testing

/// `lineage quantize` as a user runs it: a checkpoint folder in, a GGUF out, log lines when
/// stdout is not a terminal, and for broken input a located error, exit status 1 and no file.
@Suite struct QuantizeCLITests {
    /// A tiny Llama written by Tests/Scripts/make_tiny_llama.py (F16 safetensors, the
    /// SentencePiece fixture, a README naming its base model and license).
    func checkpoint(_ cli: CLI, _ name: String = "tiny", _ options: [String] = []) throws -> URL {
        let dir = cli.scratch.appendingPathComponent(name)
        let made = try cli.python("make_tiny_llama.py", [dir.path] + options)
        #expect(made.status == 0, "\(made.stderr)")
        return dir
    }

    func gguf(_ cli: CLI, _ url: URL) throws -> [String: Any] {
        let result = try cli.python("gguf_summary.py", [url.path])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }

    func value(_ summary: [String: Any], _ key: String) -> Any? {
        (summary["kv"] as! [[String: Any]]).first { $0["key"] as? String == key }?["value"]
    }

    @Test func quantizesAFolderWithLogLinesAndProvenanceFromTheReadme() throws {
        let cli = try CLI()
        let dir = try checkpoint(cli)
        let out = cli.scratch.appendingPathComponent("tiny-q4km.gguf")
        let result = try cli.run(["quantize", dir.path, "--type", "q4_k_m", "-o", out.path, "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("quantizing \(dir.path) to Q4_K_M: 21 tensors (5 F32, 13 Q4_K, 3 Q6_K)") == true, "\(lines.first ?? "")")
        #expect(lines.contains { $0.hasPrefix("[1/21] output.weight [256 x 400] Q6_K 204.8 KB in ") })
        #expect(lines.contains { $0.hasPrefix("[21/21] blk.1.ffn_up.weight [256 x 512] Q4_K ") && $0.hasSuffix("3.03 MB of 3.03 MB") })
        #expect(lines.last?.hasPrefix("wrote \(out.path) (Q4_K_M, ") == true)
        #expect(!result.stdout.contains("\r"))

        let summary = try gguf(cli, out)
        #expect(value(summary, "general.name") as? String == "Tiny Vicuna Test")
        #expect(value(summary, "general.license") as? String == "llama2")
        #expect(value(summary, "general.base_model.count") as? Int == 1)
        #expect(value(summary, "general.base_model.0.repo_url") as? String == "https://huggingface.co/meta-llama/Llama-2-7b-hf")
        #expect(value(summary, "general.file_type") as? Int == 15)
        #expect((summary["tensors"] as! [[String: Any]]).count == 21)
    }

    @Test func theDefaultOutputIsNamedAfterTheModelInTheCurrentDirectory() throws {
        let cli = try CLI()
        let dir = try checkpoint(cli)
        let result = try cli.run(["quantize", dir.path, "--type", "Q8_0", "--source-repo", "someone/tiny-vicuna"], in: cli.scratch)
        #expect(result.status == 0, "\(result.stderr)")
        let out = cli.scratch.appendingPathComponent("Tiny-Vicuna-Test-Q8_0.gguf")
        #expect(FileManager.default.fileExists(atPath: out.path))
        #expect(value(try gguf(cli, out), "general.source.repo_url") as? String == "https://huggingface.co/someone/tiny-vicuna")
    }

    /// Runs a conversion expected to fail; checks the message and that no GGUF, finished or
    /// partial, was left in the output directory.
    func expectFailure(_ cli: CLI, _ arguments: [String], mentions fragments: [String]) throws {
        let outDir = cli.scratch.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let result = try cli.run(["quantize"] + arguments + ["-o", outDir.appendingPathComponent("model.gguf").path])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("lineage: error: "), "\(result.stderr)")
        for fragment in fragments { #expect(result.stderr.contains(fragment), "\"\(fragment)\" not in \(result.stderr)") }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: outDir.path)) ?? []).isEmpty)
    }

    @Test func brokenCheckpointsFailWithALocatedErrorAndLeaveNoFile() throws {
        let cli = try CLI()
        // Truncated weights.
        let truncated = try checkpoint(cli, "truncated")
        let weights = truncated.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count - 4096).write(to: weights)
        try expectFailure(cli, [truncated.path, "--type", "Q4_K_M"],
                          mentions: ["safetensors error in \(weights.path)", "the file is truncated; download it again"])

        // config.json disagrees with a tensor's shape.
        let shape = try checkpoint(cli, "shape")
        let config = shape.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"intermediate_size\": 512", with: "\"intermediate_size\": 1024")
        try Data(text.utf8).write(to: config)
        try expectFailure(cli, [shape.path, "--type", "Q4_K_M"],
                          mentions: ["(tensor 'model.layers.0.mlp.down_proj.weight'): shape [256, 512] disagrees with \(config.path), which needs [256, 1024]"])

        // The vocabulary is larger than the embedding.
        let vocab = try checkpoint(cli, "vocab", ["--vocab", "300"])
        try expectFailure(cli, [vocab.path, "--type", "Q8_0"],
                          mentions: ["tokenizer.model: the tokenizer has 384 pieces but config.json's vocab_size (and the token embedding) is 300"])

        // Rows no block size divides.
        let odd = try checkpoint(cli, "odd", ["--hidden", "200", "--ffn", "400", "--heads", "4"])
        try expectFailure(cli, [odd.path, "--type", "Q4_0"],
                          mentions: ["(tensor 'lm_head.weight' (GGUF output.weight)): row length 200 is not a multiple of Q8_0's block size 32",
                                     "--allow-f16-fallback"])
        let allowed = try cli.run(["quantize", odd.path, "--type", "Q4_0", "--allow-f16-fallback", "-o", cli.scratch.appendingPathComponent("odd.gguf").path])
        #expect(allowed.status == 0)
        #expect(allowed.stderr.contains("lineage: warning: output.weight: row length 200 is not a multiple of Q8_0's block size 32; using F16 as llama.cpp does"))
    }

    @Test func anInterruptedConversionLeavesNoPartialFile() throws {
        let cli = try CLI()
        // Big enough that a debug build is still quantizing when the signal arrives.
        let dir = try checkpoint(cli, "big", ["--hidden", "512", "--ffn", "2048", "--layers", "12", "--heads", "8"])
        let outDir = cli.scratch.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["quantize", dir.path, "--type", "Q6_K", "--threads", "1", "-o", outDir.appendingPathComponent("big.gguf").path]
        process.environment = cli.environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Wait for the first tensor's log line: the partial file exists by then.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("[1/") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        process.interrupt()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 128 + SIGINT, "\(stderr)")
        #expect(stderr.contains("lineage: interrupted; removed the unfinished .big.gguf."))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: outDir.path)) ?? []).isEmpty)
    }
}
