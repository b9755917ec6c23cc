import Foundation
@testable import ModelConversion

/// Checkpoints of the non-Llama architectures small enough to convert in a test: random
/// weights under each family's Hugging Face tensor names (as its transformers class saves
/// them), a config.json in the family's own vocabulary of keys, and a byte-level BPE
/// tokenizer.json (BPEVocabularyTests.writeTokenizer) with the family's pre-tokenizer, or the
/// committed SentencePiece fixture for Baichuan.
struct TinyArchitecture {
    var architecture: ModelArchitecture
    var hidden = 256
    var layers = 2
    var heads = 4
    /// Falcon: key/value heads (1 = 7B-style multi-query); StableLM: num_key_value_heads.
    var kvHeads = 1
    /// Falcon: 40B/180B-style blocks (ln_attn + ln_mlp, grouped key/value heads).
    var newDecoderArchitecture = false
    /// Feed-forward size where the family configures it (GPT-NeoX, StableLM, Baichuan).
    var feedForward = 512
    /// Above the tokenizer's ids (284 BPE, 384 SentencePiece) the vocabulary is padded.
    var vocab = 300
    var context = 128
    var dtype = "F32"
    var seed: UInt64 = 7
    /// Phi / StableLM / GPT-NeoX: fraction of each head that is rotated.
    var rotaryFraction = 0.5

    var headDim: Int { hidden / heads }

    /// The byte-level pre-tokenizers of the families' real tokenizer.json files.
    static var byteLevel: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true] }
    static var bloomPreTokenizer: [String: Any] { ["type": "Sequence", "pretokenizers": [
        ["type": "Split", "pattern": ["Regex": BPEVocabularyLoader.bloomPattern], "behavior": "Isolated", "invert": false],
        ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
    ]] }
    static var falconPreTokenizer: [String: Any] { ["type": "Sequence", "pretokenizers": [
        ["type": "Punctuation", "behavior": "Contiguous"],
        ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
        ["type": "Digits", "individual_digits": false],
        ["type": "Split", "pattern": ["Regex": BPEVocabularyLoader.falconPattern], "behavior": "Isolated", "invert": false],
    ]] }

    var preTokenizer: [String: Any]? {
        switch architecture {
        case .bloom: return Self.bloomPreTokenizer
        case .falcon: return Self.falconPreTokenizer
        case .baichuan, .llama: return nil
        default: return Self.byteLevel
        }
    }

    /// (name, PyTorch shape, values) in the order the family's transformers class saves them.
    func tensors() -> [(String, [Int], [Float])] {
        var g = TinyLlama.Generator(state: seed)
        var out: [(String, [Int], [Float])] = []
        func add(_ name: String, _ shape: [Int], scale: Float = 0.05) {
            out.append((name, shape, (0..<shape.reduce(1, *)).map { _ in g.normal() * scale }))
        }
        func norm(_ name: String, bias: Bool = true) {
            out.append((name + ".weight", [hidden], (0..<hidden).map { _ in 1 + g.normal() * 0.1 }))
            if bias { add(name + ".bias", [hidden], scale: 0.1) }
        }
        func linear(_ name: String, _ rows: Int, _ cols: Int, bias: Bool = true, scale: Float = 0.05) {
            add(name + ".weight", [rows, cols], scale: scale)
            if bias { add(name + ".bias", [rows], scale: 0.1) }
        }
        let e = hidden, kv = kvHeads * headDim
        switch architecture {
        case .bloom:
            add("transformer.word_embeddings.weight", [vocab, e], scale: 0.5)
            norm("transformer.word_embeddings_layernorm")
            for i in 0..<layers {
                let p = "transformer.h.\(i)."
                norm(p + "input_layernorm")
                linear(p + "self_attention.query_key_value", 3 * e, e, scale: 0.2)
                linear(p + "self_attention.dense", e, e)
                norm(p + "post_attention_layernorm")
                linear(p + "mlp.dense_h_to_4h", 4 * e, e)
                linear(p + "mlp.dense_4h_to_h", e, 4 * e)
            }
            norm("transformer.ln_f")
        case .falcon:
            add("transformer.word_embeddings.weight", [vocab, e], scale: 0.5)
            for i in 0..<layers {
                let p = "transformer.h.\(i)."
                if newDecoderArchitecture {
                    norm(p + "ln_attn")
                    norm(p + "ln_mlp")
                } else {
                    norm(p + "input_layernorm")
                }
                linear(p + "self_attention.query_key_value", (heads + 2 * kvHeads) * headDim, e, bias: false, scale: 0.2)
                linear(p + "self_attention.dense", e, e, bias: false)
                linear(p + "mlp.dense_h_to_4h", 4 * e, e, bias: false)
                linear(p + "mlp.dense_4h_to_h", e, 4 * e, bias: false)
            }
            norm("transformer.ln_f")
            add("lm_head.weight", [vocab, e])
        case .gptNeoX:
            add("gpt_neox.embed_in.weight", [vocab, e], scale: 0.5)
            for i in 0..<layers {
                let p = "gpt_neox.layers.\(i)."
                norm(p + "input_layernorm")
                norm(p + "post_attention_layernorm")
                linear(p + "attention.query_key_value", 3 * e, e, scale: 0.2)
                linear(p + "attention.dense", e, e)
                linear(p + "mlp.dense_h_to_4h", feedForward, e)
                linear(p + "mlp.dense_4h_to_h", e, feedForward)
                // Buffers older transformers releases saved; the converter drops them.
                out.append((p + "attention.rotary_emb.inv_freq", [headDim / 4], (0..<(headDim / 4)).map { Float($0) }))
            }
            norm("gpt_neox.final_layer_norm")
            add("embed_out.weight", [vocab, e])
        case .stableLM:
            add("model.embed_tokens.weight", [vocab, e], scale: 0.5)
            for i in 0..<layers {
                let p = "model.layers.\(i)."
                norm(p + "input_layernorm")
                linear(p + "self_attn.q_proj", e, e, scale: 0.2)
                linear(p + "self_attn.k_proj", kv, e, scale: 0.2)
                linear(p + "self_attn.v_proj", kv, e)
                linear(p + "self_attn.o_proj", e, e, bias: false)
                norm(p + "post_attention_layernorm")
                linear(p + "mlp.gate_proj", feedForward, e, bias: false)
                linear(p + "mlp.up_proj", feedForward, e, bias: false)
                linear(p + "mlp.down_proj", e, feedForward, bias: false)
            }
            norm("model.norm")
            add("lm_head.weight", [vocab, e])
        case .phi2:
            add("model.embed_tokens.weight", [vocab, e], scale: 0.5)
            for i in 0..<layers {
                let p = "model.layers.\(i)."
                norm(p + "input_layernorm")
                linear(p + "self_attn.q_proj", e, e, scale: 0.2)
                linear(p + "self_attn.k_proj", e, e, scale: 0.2)
                linear(p + "self_attn.v_proj", e, e)
                linear(p + "self_attn.dense", e, e)
                linear(p + "mlp.fc1", 4 * e, e)
                linear(p + "mlp.fc2", e, 4 * e)
            }
            norm("model.final_layernorm")
            linear("lm_head", vocab, e)
        case .mpt:
            add("transformer.wte.weight", [vocab, e], scale: 0.5)
            for i in 0..<layers {
                let p = "transformer.blocks.\(i)."
                norm(p + "norm_1", bias: false)
                linear(p + "attn.Wqkv", 3 * e, e, bias: false, scale: 0.2)
                linear(p + "attn.out_proj", e, e, bias: false)
                norm(p + "norm_2", bias: false)
                linear(p + "ffn.up_proj", 4 * e, e, bias: false)
                linear(p + "ffn.down_proj", e, 4 * e, bias: false)
            }
            norm("transformer.norm_f", bias: false)
        case .baichuan:
            add("model.embed_tokens.weight", [vocab, e], scale: 0.5)
            for i in 0..<layers {
                let p = "model.layers.\(i)."
                norm(p + "input_layernorm", bias: false)
                linear(p + "self_attn.W_pack", 3 * e, e, bias: false, scale: 0.2)
                linear(p + "self_attn.o_proj", e, e, bias: false)
                norm(p + "post_attention_layernorm", bias: false)
                linear(p + "mlp.gate_proj", feedForward, e, bias: false)
                linear(p + "mlp.up_proj", feedForward, e, bias: false)
                linear(p + "mlp.down_proj", e, feedForward, bias: false)
            }
            norm("model.norm", bias: false)
            add("lm_head.weight", [vocab, e])
        case .llama:
            preconditionFailure("use TinyLlama for Llama checkpoints")
        }
        return out
    }

    /// config.json as the family's transformers (or remote-code) class writes it.
    var config: [String: Any] {
        switch architecture {
        case .bloom:
            return ["architectures": ["BloomForCausalLM"], "model_type": "bloom", "hidden_size": hidden, "n_head": heads,
                    "n_layer": layers, "layer_norm_epsilon": 1e-5, "vocab_size": vocab, "bos_token_id": 280, "eos_token_id": 281]
        case .falcon:
            var c: [String: Any] = [
                "architectures": ["FalconForCausalLM"], "model_type": "falcon", "hidden_size": hidden, "num_attention_heads": heads,
                "num_hidden_layers": layers, "layer_norm_epsilon": 1e-5, "vocab_size": vocab, "alibi": false, "bias": false,
                "parallel_attn": true, "new_decoder_architecture": newDecoderArchitecture, "multi_query": kvHeads == 1,
                "bos_token_id": 280, "eos_token_id": 281,
            ]
            if newDecoderArchitecture { c["num_kv_heads"] = kvHeads }
            return c
        case .gptNeoX:
            return ["architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": hidden,
                    "num_attention_heads": heads, "num_hidden_layers": layers, "intermediate_size": feedForward,
                    "max_position_embeddings": context, "rotary_pct": rotaryFraction, "rotary_emb_base": 10000,
                    "use_parallel_residual": true, "layer_norm_eps": 1e-5, "vocab_size": vocab, "hidden_act": "gelu",
                    "bos_token_id": 280, "eos_token_id": 281]
        case .stableLM:
            return ["architectures": ["StableLmForCausalLM"], "model_type": "stablelm", "hidden_size": hidden,
                    "num_attention_heads": heads, "num_key_value_heads": kvHeads, "num_hidden_layers": layers,
                    "intermediate_size": feedForward, "max_position_embeddings": context, "partial_rotary_factor": rotaryFraction,
                    "rope_theta": 10000, "use_qkv_bias": true, "use_parallel_residual": false, "layer_norm_eps": 1e-5,
                    "vocab_size": vocab, "hidden_act": "silu", "bos_token_id": 280, "eos_token_id": 281]
        case .phi2:
            return ["architectures": ["PhiForCausalLM"], "model_type": "phi", "hidden_size": hidden, "num_attention_heads": heads,
                    "num_hidden_layers": layers, "intermediate_size": 4 * hidden, "max_position_embeddings": context,
                    "partial_rotary_factor": rotaryFraction, "layer_norm_eps": 1e-5, "vocab_size": vocab, "qk_layernorm": false,
                    "hidden_act": "gelu_new", "bos_token_id": 280, "eos_token_id": 281]
        case .mpt:
            return ["architectures": ["MPTForCausalLM"], "model_type": "mpt", "d_model": hidden, "n_heads": heads,
                    "n_layers": layers, "max_seq_len": context, "expansion_ratio": 4, "vocab_size": vocab, "no_bias": true,
                    "attn_config": ["alibi": true, "alibi_bias_max": 8, "clip_qkv": NSNull(), "qk_ln": false]]
        case .baichuan:
            return ["architectures": ["BaichuanForCausalLM"], "model_type": "baichuan", "hidden_size": hidden,
                    "num_attention_heads": heads, "num_hidden_layers": layers, "intermediate_size": feedForward,
                    "max_position_embeddings": context, "rms_norm_eps": 1e-6, "vocab_size": vocab, "hidden_act": "silu",
                    "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": false]
        case .llama:
            return [:]
        }
    }

    @discardableResult
    func write(to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
        if let preTokenizer {
            _ = try BPEVocabularyTests.writeTokenizer(to: directory, preTokenizer: preTokenizer)
        } else {
            try FileManager.default.copyItem(at: TinyLlama.fixtures.appendingPathComponent("tokenizer.model"),
                                             to: directory.appendingPathComponent("tokenizer.model"))
            let tokenizerConfig: [String: Any] = ["add_bos_token": true, "add_eos_token": false, "bos_token": "<s>",
                                                  "eos_token": "</s>", "unk_token": "<unk>", "tokenizer_class": "BaichuanTokenizer"]
            try JSONSerialization.data(withJSONObject: tokenizerConfig, options: [.sortedKeys])
                .write(to: directory.appendingPathComponent("tokenizer_config.json"))
        }
        var writer = SafetensorsWriter()
        for (name, shape, values) in tensors() {
            writer.add(name, dtype: name.hasSuffix("inv_freq") ? "F32" : dtype, shape: shape, values: values)
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        return directory
    }
}
