import Foundation
import LineageTestSupport

/// A Llama checkpoint small enough to convert in a test: random weights written as safetensors
/// from Swift, a config.json that describes them and the committed SentencePiece fixture.
struct TinyLlama {
    var hidden = 256
    var feedForward = 512
    var layers = 8
    var heads = 4
    var kvHeads = 2
    /// config.json's vocab_size and the embedding's row count; above the tokenizer's 384 pieces
    /// the vocabulary is padded.
    var vocab = 400
    var context = 128
    var dtype = "BF16"
    var tiedEmbeddings = false
    /// Number of safetensors shards (1: model.safetensors; more: an index and shards).
    var shards = 1
    var seed: UInt64 = 1
    /// Biases on the attention projections (config.json attention_bias), which llama.cpp's
    /// Llama graph applies; the query and key biases are permuted like their weights.
    var attentionBias = false
    var rmsEps = 1e-5
    var ropeTheta: Double? = 10000
    var extraConfig: [String: Any] = [:]

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tokenizerPieces = 384

    var headDim: Int { hidden / heads }

    /// (name, PyTorch shape, values) for every tensor, in the order Hugging Face saves them.
    func tensors() -> [(String, [Int], [Float])] {
        var g = Generator(state: seed)
        func matrix(_ rows: Int, _ cols: Int, scale: Float = 0.05) -> [Float] {
            (0..<(rows * cols)).map { _ in g.normal() * scale }
        }
        func norm(_ n: Int) -> [Float] { (0..<n).map { _ in 1 + g.normal() * 0.1 } }
        var out: [(String, [Int], [Float])] = [
            ("model.embed_tokens.weight", [vocab, hidden], matrix(vocab, hidden, scale: 0.5)),
        ]
        for i in 0..<layers {
            let p = "model.layers.\(i)."
            out.append((p + "input_layernorm.weight", [hidden], norm(hidden)))
            out.append((p + "self_attn.q_proj.weight", [heads * headDim, hidden], matrix(heads * headDim, hidden, scale: 0.2)))
            out.append((p + "self_attn.k_proj.weight", [kvHeads * headDim, hidden], matrix(kvHeads * headDim, hidden, scale: 0.2)))
            out.append((p + "self_attn.v_proj.weight", [kvHeads * headDim, hidden], matrix(kvHeads * headDim, hidden)))
            out.append((p + "self_attn.o_proj.weight", [hidden, heads * headDim], matrix(hidden, heads * headDim)))
            if attentionBias {
                out.append((p + "self_attn.q_proj.bias", [heads * headDim], matrix(1, heads * headDim, scale: 0.5)))
                out.append((p + "self_attn.k_proj.bias", [kvHeads * headDim], matrix(1, kvHeads * headDim, scale: 0.5)))
                out.append((p + "self_attn.v_proj.bias", [kvHeads * headDim], matrix(1, kvHeads * headDim, scale: 0.5)))
                out.append((p + "self_attn.o_proj.bias", [hidden], matrix(1, hidden, scale: 0.5)))
            }
            out.append((p + "post_attention_layernorm.weight", [hidden], norm(hidden)))
            out.append((p + "mlp.gate_proj.weight", [feedForward, hidden], matrix(feedForward, hidden)))
            out.append((p + "mlp.up_proj.weight", [feedForward, hidden], matrix(feedForward, hidden)))
            out.append((p + "mlp.down_proj.weight", [hidden, feedForward], matrix(hidden, feedForward)))
            out.append((p + "self_attn.rotary_emb.inv_freq", [headDim / 2], (0..<(headDim / 2)).map { Float($0) }))
        }
        out.append(("model.norm.weight", [hidden], norm(hidden)))
        if !tiedEmbeddings { out.append(("lm_head.weight", [vocab, hidden], matrix(vocab, hidden))) }
        return out
    }

    var config: [String: Any] {
        var c: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": hidden, "intermediate_size": feedForward, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "vocab_size": vocab,
            "max_position_embeddings": context, "rms_norm_eps": rmsEps, "tie_word_embeddings": tiedEmbeddings,
            "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "torch_dtype": "bfloat16",
            "attention_bias": attentionBias,
        ]
        if let ropeTheta { c["rope_theta"] = ropeTheta }
        for (k, v) in extraConfig { c[k] = v }
        return c
    }

    /// Writes the checkpoint into `directory` (created if needed) and returns it.
    @discardableResult
    func write(to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tokenizer.model"),
                                         to: directory.appendingPathComponent("tokenizer.model"))
        let tokenizerConfig: [String: Any] = [
            "add_bos_token": true, "add_eos_token": false,
            "bos_token": ["__type": "AddedToken", "content": "<s>"], "eos_token": "</s>", "unk_token": "<unk>",
            "model_max_length": context, "tokenizer_class": "LlamaTokenizer",
        ]
        try JSONSerialization.data(withJSONObject: tokenizerConfig, options: [.sortedKeys])
            .write(to: directory.appendingPathComponent("tokenizer_config.json"))

        let all = tensors()
        let perShard = (all.count + shards - 1) / shards
        var weightMap: [String: String] = [:]
        for s in 0..<shards {
            var writer = SafetensorsWriter()
            for (name, shape, values) in all[(s * perShard)..<min(all.count, (s + 1) * perShard)] {
                writer.add(name, dtype: name.hasSuffix("inv_freq") ? "F32" : dtype, shape: shape, values: values)
            }
            let file = shards == 1 ? "model.safetensors" : String(format: "model-%05d-of-%05d.safetensors", s + 1, shards)
            try writer.write(to: directory.appendingPathComponent(file))
            for t in writer.tensors { weightMap[t.name] = file }
        }
        if shards > 1 {
            try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": weightMap], options: [.sortedKeys])
                .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
        }
        return directory
    }

    typealias Generator = SeededGenerator
}
