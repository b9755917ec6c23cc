import GGUF

/// The architectures with their own query, key and value projections besides Llama: StableLM,
/// Phi-1/1.5/2 and Baichuan (whose W_pack packs them into one tensor that the converter splits).
/// Each follows its model class in convert_hf_to_gguf.py (conversion/stablelm.py, phi.py,
/// baichuan.py of the llama.cpp that llama-cpp-python 0.3.36 vendors).
extension ArchitectureDescription {
    /// TextModel.__init__'s partial rotary factor: rope_parameters/rope_scaling first, then the
    /// top-level names.
    static func partialRotaryFactor(_ config: JSONObject) throws -> Double? {
        let rope = try config.object("rope_parameters") ?? config.object("rope_scaling")
        if let value = try rope?.number("partial_rotary_factor") { return value }
        return try config.firstNumber(["partial_rotary_factor", "rope_pct", "rope_percent"])?.value
    }

    // MARK: StableLM

    /// StableLMModel: Llama-like projections (optionally with q/k/v biases), LayerNorms with
    /// biases, partial NeoX-style rope (no permutation), no ffn_norm when the residual is parallel.
    static func stableLM(config: JSONObject) throws -> ArchitectureDescription {
        let e = try config.count(["hidden_size"], what: "hidden size")
        let heads = try config.count(["num_attention_heads"], what: "attention head count")
        let kvHeads = try config.count(["num_key_value_heads"], what: "key/value head count")
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let ff = try config.count(["intermediate_size"], what: "feed-forward size")
        let context = try config.count(["max_position_embeddings"], what: "context length")
        let eps = try config.positiveNumber(["layer_norm_eps", "norm_eps"], what: "layer norm epsilon")
        let vocab = try vocabSize(config)
        guard let rotary = try partialRotaryFactor(config) else {
            throw config.missing("partial_rotary_factor", hint: "StableLM rotates part of each head; rope_pct in older configs")
        }
        if try config.boolean("qk_layernorm") == true {
            throw config.invalid("qk_layernorm", "per-head query/key LayerNorms (StableLM 2 12B) are not converted yet",
                                 hint: "supported: StableLM checkpoints without qk_layernorm")
        }
        // StableLMModel.set_gguf_parameters writes true when the key is absent.
        let parallel = try config.boolean("use_parallel_residual") ?? true
        let h = try common(config: config, blocks: blocks, context: context, embedding: e, feedForward: ff,
                           heads: heads, kvHeads: kvHeads, epsilon: eps, vocab: vocab, headsKey: "num_key_value_heads")
        let a = "stablelm"
        let keys: [(key: String, value: GGUFValue)] = [
            ("\(a).context_length", u32(context)), ("\(a).embedding_length", u32(e)), ("\(a).block_count", u32(blocks)),
            ("\(a).feed_forward_length", u32(ff)),
            ("\(a).rope.dimension_count", u32(Int(rotary * Double(h.headDimension)))),
            ("\(a).attention.head_count", u32(heads)), ("\(a).attention.head_count_kv", u32(kvHeads)),
            ("\(a).use_parallel_residual", .bool(parallel)),
            ("\(a).attention.layer_norm_epsilon", .float32(Float(eps))),
        ]
        let kv = kvHeads * h.headDimension
        var tensors: [String: TensorRule] = [
            "model.embed_tokens.weight": rule("token_embd.weight", [vocab, e]),
            "model.norm.weight": rule("output_norm.weight", [e]),
            "model.norm.bias": rule("output_norm.bias", [e]),
            "lm_head.weight": rule("output.weight", [vocab, e]),
        ]
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "model.layers.\($0)." },
            weightAndBias("input_layernorm", "attn_norm", [e])
            + weightAndBias("self_attn.q_proj", "attn_q", [e, e], biasRequired: false)
            + weightAndBias("self_attn.k_proj", "attn_k", [kv, e], biasRequired: false)
            + weightAndBias("self_attn.v_proj", "attn_v", [kv, e], biasRequired: false)
            + [("self_attn.o_proj.weight", "attn_output.weight", [e, e], .identity, true)]
            // Absent when the residual is parallel (StableLM 2 12B).
            + weightAndBias("post_attention_layernorm", "ffn_norm", [e], required: false)
            + [("mlp.gate_proj.weight", "ffn_gate.weight", [ff, e], .identity, true),
               ("mlp.up_proj.weight", "ffn_up.weight", [ff, e], .identity, true),
               ("mlp.down_proj.weight", "ffn_down.weight", [e, ff], .identity, true)])) { a, _ in a }
        var d = ArchitectureDescription(
            architecture: .stableLM, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .bpe,
            tokenEmbedding: "model.embed_tokens.weight", layerPrefix: "model.layers.", layerCountKey: "num_hidden_layers",
            shapeSummary: "vocab_size \(vocab), hidden_size \(e), intermediate_size \(ff), \(heads) heads, \(kvHeads) key/value heads")
        // StableLM 3B 4E1T uses the GPT-NeoX-20B vocabulary (see gptNeoX); StableLM 2's
        // Arcade100k tokenizer is recognised by its split pattern ("stablelm2").
        d.byteLevelPreTokenizer = "olmo"
        return d
    }

    // MARK: Phi

    /// Phi2Model (PhiForCausalLM: Phi-1, Phi-1.5, Phi-2): biased projections, one LayerNorm per
    /// block (attention and MLP in parallel), partial NeoX-style rope, an output bias.
    static func phi(config: JSONObject) throws -> ArchitectureDescription {
        let e = try config.count(["hidden_size", "n_embd"], what: "hidden size")
        let heads = try config.count(["num_attention_heads", "n_head"], what: "attention head count")
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let context = try config.count(["n_positions", "max_position_embeddings"], what: "context length")
        let eps = try config.positiveNumber(["layer_norm_epsilon", "layer_norm_eps"], what: "layer norm epsilon")
        let vocab = try vocabSize(config)
        guard let rotary = try partialRotaryFactor(config) else {
            throw config.missing("partial_rotary_factor", hint: "Phi rotates part of each head")
        }
        // Phi2Model writes 4 x hidden as the feed-forward length and n_head key/value heads;
        // checkpoints that differ would not load in llama.cpp, so they are refused here.
        if let ff = try config.integer("intermediate_size"), ff != 4 * e {
            throw config.invalid("intermediate_size", "intermediate_size \(ff) is not 4 x hidden_size (\(4 * e)), which Phi2Model assumes")
        }
        if let kv = try config.integer("num_key_value_heads"), kv != heads {
            throw config.invalid("num_key_value_heads", "\(kv) key/value heads: Phi2Model writes one per attention head (\(heads))")
        }
        if try config.boolean("qk_layernorm") == true {
            throw config.invalid("qk_layernorm", "query/key LayerNorms are not part of llama.cpp's phi2 graph")
        }
        let h = try common(config: config, blocks: blocks, context: context, embedding: e, feedForward: 4 * e,
                           heads: heads, kvHeads: heads, epsilon: eps, vocab: vocab, headsKey: "num_attention_heads")
        let a = "phi2"
        let keys: [(key: String, value: GGUFValue)] = [
            ("\(a).context_length", u32(context)), ("\(a).embedding_length", u32(e)),
            ("\(a).feed_forward_length", u32(4 * e)), ("\(a).block_count", u32(blocks)),
            ("\(a).attention.head_count", u32(heads)), ("\(a).attention.head_count_kv", u32(heads)),
            ("\(a).attention.layer_norm_epsilon", .float32(Float(eps))),
            // int(rot_pct * n_embd) // n_head
            ("\(a).rope.dimension_count", u32(Int(rotary * Double(e)) / heads)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
        ]
        var tensors: [String: TensorRule] = [
            "model.embed_tokens.weight": rule("token_embd.weight", [vocab, e]),
            "model.final_layernorm.weight": rule("output_norm.weight", [e]),
            "model.final_layernorm.bias": rule("output_norm.bias", [e]),
            "lm_head.weight": rule("output.weight", [vocab, e]),
            "lm_head.bias": rule("output.bias", [vocab]),
        ]
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "model.layers.\($0)." },
            weightAndBias("input_layernorm", "attn_norm", [e])
            + weightAndBias("self_attn.q_proj", "attn_q", [e, e])
            + weightAndBias("self_attn.k_proj", "attn_k", [e, e])
            + weightAndBias("self_attn.v_proj", "attn_v", [e, e])
            + weightAndBias("self_attn.dense", "attn_output", [e, e])
            + weightAndBias("mlp.fc1", "ffn_up", [4 * e, e])
            + weightAndBias("mlp.fc2", "ffn_down", [e, 4 * e]))) { a, _ in a }
        var d = ArchitectureDescription(
            architecture: .phi2, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .bpe,
            tokenEmbedding: "model.embed_tokens.weight", layerPrefix: "model.layers.", layerCountKey: "num_hidden_layers",
            shapeSummary: "vocab_size \(vocab), hidden_size \(e), \(heads) heads")
        // Phi's CodeGen-derived vocabulary hashes as "phi-2".
        d.byteLevelPreTokenizer = "phi-2"
        return d
    }

    // MARK: Baichuan

    /// BaichuanModel: Llama's layout with query, key and value packed into W_pack. The
    /// converter splits it into thirds and permutes the query and key thirds for llama.cpp's
    /// rope (_reverse_hf_permute_part). llama.cpp applies rope to 32-layer (7B) models and
    /// ALiBi to 40-layer (13B) ones, by layer count.
    static func baichuan(config: JSONObject) throws -> ArchitectureDescription {
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let context = try config.count(
            ["max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length"],
            what: "context length")
        let e = try config.count(["hidden_size", "n_embd", "dim"], what: "hidden size")
        let ff = try config.count(["intermediate_size", "n_inner", "hidden_dim"], what: "feed-forward size")
        let heads = try config.count(["num_attention_heads", "n_head", "n_heads"], what: "attention head count")
        let kvHeads = try config.firstInteger(["num_key_value_heads", "n_kv_heads"])?.value
        let eps = try config.positiveNumber(["rms_norm_eps", "norm_eps"], what: "RMS norm epsilon")
        let vocab = try vocabSize(config)
        let theta = try config.number("rope_theta")
        if let kvHeads, kvHeads != heads {
            throw config.invalid("num_key_value_heads", "W_pack holds equal thirds; \(kvHeads) key/value heads for \(heads) heads cannot be split from it")
        }
        var h = try common(config: config, blocks: blocks, context: context, embedding: e, feedForward: ff,
                           heads: heads, kvHeads: heads, epsilon: eps, vocab: vocab, headsKey: "num_attention_heads")
        h.ropeFreqBase = theta
        let a = "baichuan"
        // TextModel.set_gguf_parameters, then BaichuanModel's two keys.
        var keys: [(key: String, value: GGUFValue)] = [
            ("\(a).block_count", u32(blocks)), ("\(a).context_length", u32(context)),
            ("\(a).embedding_length", u32(e)), ("\(a).feed_forward_length", u32(ff)),
            ("\(a).attention.head_count", u32(heads)),
        ]
        if let kvHeads { keys.append(("\(a).attention.head_count_kv", u32(kvHeads))) }
        if let theta { keys.append(("\(a).rope.freq_base", .float32(Float(theta)))) }
        keys.append(("\(a).attention.layer_norm_rms_epsilon", .float32(Float(eps))))
        keys.append(("\(a).tensor_data_layout", .string("Meta AI original pth")))
        keys.append(("\(a).rope.dimension_count", u32(h.headDimension)))

        let rotary = RowOrder.rotaryInterleaved(headDimension: h.headDimension)
        var tensors: [String: TensorRule] = [
            "model.embed_tokens.weight": rule("token_embd.weight", [vocab, e]),
            "model.norm.weight": rule("output_norm.weight", [e]),
            "lm_head.weight": rule("output.weight", [vocab, e]),
        ]
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "model.layers.\($0)." }, [
            ("input_layernorm.weight", "attn_norm.weight", [e], .identity, true),
            ("self_attn.o_proj.weight", "attn_output.weight", [e, e], .identity, true),
            ("post_attention_layernorm.weight", "ffn_norm.weight", [e], .identity, true),
            ("mlp.gate_proj.weight", "ffn_gate.weight", [ff, e], .identity, true),
            ("mlp.up_proj.weight", "ffn_up.weight", [ff, e], .identity, true),
            ("mlp.down_proj.weight", "ffn_down.weight", [e, ff], .identity, true),
        ])) { a, _ in a }
        for i in 0..<blocks {
            tensors["model.layers.\(i).self_attn.W_pack.weight"] = TensorRule(shape: [3 * e, e], outputs: [
                Output("blk.\(i).attn_q.weight", [e, e], rows: .slice(offset: 0, count: e, then: rotary)),
                Output("blk.\(i).attn_k.weight", [e, e], rows: .slice(offset: e, count: e, then: rotary)),
                Output("blk.\(i).attn_v.weight", [e, e], rows: .slice(offset: 2 * e, count: e)),
            ], required: true)
        }
        return ArchitectureDescription(
            architecture: .baichuan, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .sentencePiece,
            tokenEmbedding: "model.embed_tokens.weight", layerPrefix: "model.layers.", layerCountKey: "num_hidden_layers",
            shapeSummary: "vocab_size \(vocab), hidden_size \(e), intermediate_size \(ff), \(heads) heads")
    }
}
