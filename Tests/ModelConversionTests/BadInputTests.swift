import LineageTestSupport
import Foundation
import Testing
@testable import ModelConversion

/// Broken checkpoints: each fails with an error that names the file and the tensor or field,
/// and leaves no GGUF (finished or partial) behind.
@Suite("bad input")
struct BadInputTests {
    /// Converts `checkpoint` into a fresh output directory and checks the error text and that
    /// the directory stays empty.
    static func expectFailure(_ checkpoint: URL, preset: QuantizationPreset = .q4_K_M, mentions fragments: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = checkpoint.deletingLastPathComponent().appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        do {
            try Conversion.run(checkpoint, preset, to: out.appendingPathComponent("model.gguf"))
            Issue.record("the conversion succeeded", sourceLocation: sourceLocation)
        } catch {
            let text = "\(error)"
            for fragment in fragments {
                #expect(text.contains(fragment), "\"\(fragment)\" not in: \(text)", sourceLocation: sourceLocation)
            }
        }
        #expect(TestSupport.files(in: out).isEmpty, "left behind: \(TestSupport.files(in: out))", sourceLocation: sourceLocation)
    }

    static var small: TinyLlama { TinyLlama(hidden: 64, feedForward: 128, layers: 2, heads: 2, kvHeads: 2) }

    @Test("a truncated shard")
    func truncated() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = Self.small
        model.shards = 2
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        let shard = checkpoint.appendingPathComponent("model-00002-of-00002.safetensors")
        let data = try Data(contentsOf: shard)
        try data.prefix(data.count - 1000).write(to: shard)
        try Self.expectFailure(checkpoint, mentions: ["model-00002-of-00002.safetensors", "the file is truncated"])
    }

    @Test("a header that lies about a tensor's size")
    func lyingHeader() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try Self.small.write(to: dir.appendingPathComponent("m"))
        // Same bytes, but the header claims a wider q_proj: its data_offsets no longer fit the shape.
        var writer = SafetensorsWriter()
        for (name, shape, values) in Self.small.tensors() {
            let claimed = name == "model.layers.1.self_attn.q_proj.weight" ? [shape[0], shape[1] * 2] : shape
            writer.tensors.append(.init(name: name, dtype: name.hasSuffix("inv_freq") ? "F32" : "BF16", shape: claimed,
                                        bytes: SafetensorsWriter.encode(values, as: name.hasSuffix("inv_freq") ? "F32" : "BF16")))
        }
        try writer.write(to: checkpoint.appendingPathComponent("model.safetensors"))
        try Self.expectFailure(checkpoint, mentions: [
            "model.safetensors", "tensor 'model.layers.1.self_attn.q_proj.weight'", "data_offsets cover 8192 bytes but shape [64, 128] of BF16 needs 16384",
        ])
    }

    @Test("a tensor whose shape disagrees with config.json")
    func shapeDisagreesWithConfig() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = TinyLlama(hidden: 64, feedForward: 128, layers: 2, heads: 4, kvHeads: 2)
        model.extraConfig = ["num_key_value_heads": 4]
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        try Self.expectFailure(checkpoint, mentions: [
            "tensor 'model.layers.0.self_attn.k_proj.weight'", "shape [32, 64] disagrees with", "config.json, which needs [64, 64]",
            "4 key/value heads of 16",
        ])
    }

    @Test("an embedding whose row count disagrees with vocab_size")
    func embeddingVersusVocabSize() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = Self.small
        model.extraConfig = ["vocab_size": 512]
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        try Self.expectFailure(checkpoint, mentions: [
            "tensor 'model.embed_tokens.weight'", "the embedding has 400 rows but config.json's vocab_size is 512",
        ])
    }

    @Test("a tokenizer with more pieces than the embedding has rows")
    func tokenizerLargerThanEmbedding() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = Self.small
        model.vocab = 300
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        try Self.expectFailure(checkpoint, mentions: [
            "tokenizer.model", "the tokenizer has 384 pieces but config.json's vocab_size (and the token embedding) is 300",
        ])
    }

    @Test("an architecture lineage does not convert")
    func unsupportedArchitecture() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = Self.small
        model.extraConfig = ["architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"]
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        try Self.expectFailure(checkpoint, mentions: [
            "config.json", "field 'architectures'", "architecture 'Qwen2ForCausalLM' is not supported",
            "LlamaForCausalLM (LLaMA, Llama 2, Llama 3, Alpaca, Vicuna, OpenLLaMA, TinyLlama, Taiwan Llama, Linly, TAIDE)",
            "BloomForCausalLM (BLOOM, BLOOMZ, FFM)", "FalconForCausalLM (Falcon 7B/40B/180B)", "GPTNeoXForCausalLM (GPT-NeoX, Pythia)",
            "StableLmForCausalLM (StableLM, StableLM 2)", "PhiForCausalLM (Phi-1, Phi-1.5, Phi-2)", "MPTForCausalLM (MPT)",
            "BaichuanForCausalLM (Baichuan, Baichuan 2)",
        ])
    }

    @Test("a block the config expects but the weights lack, and a config without rms_norm_eps")
    func missingPieces() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = Self.small
        model.extraConfig = ["num_hidden_layers": 3]
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        try Self.expectFailure(checkpoint, mentions: ["tensor 'model.layers.2.input_layernorm.weight'", "a 3-layer Llama needs"])

        var noEps = Self.small
        noEps.extraConfig = ["rms_norm_eps": NSNull()]
        let other = try noEps.write(to: dir.appendingPathComponent("n"))
        try Self.expectFailure(other, mentions: ["config.json", "field 'rms_norm_eps'", "no RMS norm epsilon"])
    }

    @Test("weights of more layers than config.json declares")
    func extraLayer() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = Self.small
        model.extraConfig = ["num_hidden_layers": 1]
        let checkpoint = try model.write(to: dir.appendingPathComponent("m"))
        try Self.expectFailure(checkpoint, mentions: ["tensor 'model.layers.1.", "config.json says num_hidden_layers is 1"])
    }
}
