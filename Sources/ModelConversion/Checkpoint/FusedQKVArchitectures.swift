import GGUF

/// The architectures whose checkpoints fuse query, key and value into one projection:
/// BLOOM, Falcon, GPT-NeoX and MPT. Each follows its model class in convert_hf_to_gguf.py
/// (conversion/bloom.py, falcon.py, gptneox.py, mpt.py of the llama.cpp that llama-cpp-python
/// 0.3.36 vendors): the same keys in the same order, the same tensor names and rearrangements.
extension ArchitectureDescription {
    /// The shared shape record; `embedding` must be whole heads.
    static func common(
        config: JSONObject, blocks: Int, context: Int, embedding: Int, feedForward: Int, heads: Int, kvHeads: Int,
        epsilon: Double, vocab: Int, headsKey: String
    ) throws -> LlamaHyperparameters {
        guard embedding % heads == 0 else {
            throw config.invalid(headsKey, "hidden size \(embedding) is not a whole number of \(heads) heads")
        }
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw config.invalid(headsKey, "\(kvHeads) key/value heads do not divide \(heads) attention heads")
        }
        return LlamaHyperparameters(
            blockCount: blocks, contextLength: context, embeddingLength: embedding, feedForwardLength: feedForward,
            headCount: heads, headCountKV: kvHeads, headDimension: embedding / heads, headDimensionIsExplicit: false,
            rmsNormEpsilon: epsilon, ropeFreqBase: nil, ropeScaling: .none, vocabSize: vocab, tieWordEmbeddings: false)
    }

    static func vocabSize(_ config: JSONObject) throws -> Int {
        try config.count(["vocab_size"], what: "vocabulary size")
    }

    static let blockCountKeys = ["n_layers", "num_hidden_layers", "n_layer", "num_layers"]

    static func u32(_ value: Int) -> GGUFValue { .uint32(UInt32(value)) }

    // MARK: BLOOM

    /// BloomModel: fused query_key_value per head, an embedding LayerNorm, LayerNorms with
    /// biases everywhere, ALiBi (no rope), output tied to the embedding unless lm_head is stored.
    static func bloom(config: JSONObject) throws -> ArchitectureDescription {
        let e = try config.count(["hidden_size", "n_embed"], what: "hidden size")
        let heads = try config.count(["n_head", "num_attention_heads"], what: "attention head count")
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let eps = try config.positiveNumber(["layer_norm_epsilon"], what: "layer norm epsilon")
        let vocab = try vocabSize(config)
        // BloomModel.set_gguf_parameters: seq_length, else (sic) the hidden size.
        let context = try config.firstInteger(["seq_length"])?.value ?? e
        let h = try common(config: config, blocks: blocks, context: context, embedding: e, feedForward: 4 * e,
                           heads: heads, kvHeads: heads, epsilon: eps, vocab: vocab, headsKey: "n_head")
        let a = "bloom"
        let keys: [(key: String, value: GGUFValue)] = [
            ("\(a).context_length", u32(context)), ("\(a).embedding_length", u32(e)),
            ("\(a).feed_forward_length", u32(4 * e)), ("\(a).block_count", u32(blocks)),
            ("\(a).attention.head_count", u32(heads)), ("\(a).attention.head_count_kv", u32(heads)),
            ("\(a).attention.layer_norm_epsilon", .float32(Float(eps))),
        ]
        let qkv = RowOrder.headInterleavedQKV(heads: heads, headDimension: h.headDimension)
        var tensors: [String: TensorRule] = [
            "word_embeddings.weight": rule("token_embd.weight", [vocab, e]),
            "word_embeddings_layernorm.weight": rule("token_embd_norm.weight", [e]),
            "word_embeddings_layernorm.bias": rule("token_embd_norm.bias", [e]),
            "ln_f.weight": rule("output_norm.weight", [e]),
            "ln_f.bias": rule("output_norm.bias", [e]),
            "lm_head.weight": rule("output.weight", [vocab, e], required: false),
        ]
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "h.\($0)." },
            weightAndBias("input_layernorm", "attn_norm", [e])
            + weightAndBias("self_attention.query_key_value", "attn_qkv", [3 * e, e], rows: qkv)
            + weightAndBias("self_attention.dense", "attn_output", [e, e])
            + weightAndBias("post_attention_layernorm", "ffn_norm", [e])
            + weightAndBias("mlp.dense_h_to_4h", "ffn_up", [4 * e, e])
            + weightAndBias("mlp.dense_4h_to_h", "ffn_down", [e, 4 * e]))) { a, _ in a }
        var d = ArchitectureDescription(
            architecture: .bloom, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .bpe,
            tokenEmbedding: "word_embeddings.weight", layerPrefix: "h.", layerCountKey: "n_layer",
            shapeSummary: "vocab_size \(vocab), hidden_size \(e), \(heads) heads")
        // BloomForCausalLM saves its tensors under "transformer.", BloomModel without; the
        // converter strips the prefix (re.sub(r'transformer\.', '', name)).
        d.normalize = { $0.hasPrefix("transformer.") ? String($0.dropFirst("transformer.".count)) : $0 }
        return d
    }

    // MARK: Falcon

    /// FalconModel: one fused query_key_value regrouped into the "jploski" layout (all query
    /// heads, then key heads, then value heads), no biases, parallel attention and MLP.
    /// 7B-style blocks have one input_layernorm; 40B/180B-style (new_decoder_architecture)
    /// have ln_attn and ln_mlp.
    static func falcon(config: JSONObject) throws -> ArchitectureDescription {
        let heads = try config.count(["num_attention_heads", "n_head"], what: "attention head count")
        let kvHeads = try config.firstInteger(["num_kv_heads", "n_head_kv"])?.value ?? 1
        let e = try config.count(["hidden_size"], what: "hidden size")
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let eps = try config.positiveNumber(["layer_norm_epsilon"], what: "layer norm epsilon")
        let vocab = try vocabSize(config)
        let newDecoder = try config.boolean("new_decoder_architecture") ?? false
        // What llama.cpp's Falcon graph cannot run: refused rather than written wrongly.
        if try config.boolean("alibi") == true {
            throw config.invalid("alibi", "Falcon with ALiBi positions (Falcon-RW) is not supported: llama.cpp's falcon graph uses rope only",
                                 hint: "llama.cpp has no ALiBi variant of this architecture")
        }
        if try config.boolean("parallel_attn") == false, !newDecoder {
            throw config.invalid("parallel_attn", "sequential attention/MLP blocks are not supported: llama.cpp's falcon graph runs them in parallel")
        }
        if try config.boolean("bias") == true {
            throw config.invalid("bias", "linear layers with biases are not supported: llama.cpp's falcon graph has none")
        }
        if !newDecoder, try config.boolean("multi_query") == false, try config.firstInteger(["num_kv_heads", "n_head_kv"]) == nil {
            throw config.invalid("multi_query", "multi_query is false but no num_kv_heads is given; the converter would assume one key/value head",
                                 hint: "add num_kv_heads to config.json")
        }
        let h = try common(config: config, blocks: blocks, context: 2048, embedding: e, feedForward: 4 * e,
                           heads: heads, kvHeads: kvHeads, epsilon: eps, vocab: vocab, headsKey: "num_kv_heads")
        let hd = h.headDimension
        let a = "falcon"
        let keys: [(key: String, value: GGUFValue)] = [
            ("\(a).context_length", u32(2048)),  // FalconModel: "not in config.json"
            ("\(a).tensor_data_layout", .string("jploski")),
            ("\(a).embedding_length", u32(e)), ("\(a).feed_forward_length", u32(4 * e)),
            ("\(a).block_count", u32(blocks)), ("\(a).attention.head_count", u32(heads)),
            ("\(a).attention.head_count_kv", u32(kvHeads)),
            ("\(a).attention.layer_norm_epsilon", .float32(Float(eps))),
        ]
        let qkvRows = (heads + 2 * kvHeads) * hd
        var tensors: [String: TensorRule] = [
            "transformer.word_embeddings.weight": rule("token_embd.weight", [vocab, e]),
            "transformer.ln_f.weight": rule("output_norm.weight", [e]),
            "transformer.ln_f.bias": rule("output_norm.bias", [e]),
            "lm_head.weight": rule("output.weight", [vocab, e], required: false),
        ]
        // gguf-py maps falcon40b's ln_mlp to attn_norm and ln_attn to attn_norm_2. Falcon2-11B
        // (new decoder, num_ln_in_parallel_attn 1) keeps a single input_layernorm.
        let lnCount = try config.integer("num_ln_in_parallel_attn") ?? 2
        let twoNorms = newDecoder && lnCount == 2
        let norms = twoNorms
            ? weightAndBias("ln_mlp", "attn_norm", [e]) + weightAndBias("ln_attn", "attn_norm_2", [e])
            : weightAndBias("input_layernorm", "attn_norm", [e])
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "transformer.h.\($0)." }, norms + [
            ("self_attention.query_key_value.weight", "attn_qkv.weight", [qkvRows, e],
             .falconQKV(heads: heads, kvHeads: kvHeads, headDimension: hd), true),
            ("self_attention.dense.weight", "attn_output.weight", [e, e], .identity, true),
            ("mlp.dense_h_to_4h.weight", "ffn_up.weight", [4 * e, e], .identity, true),
            ("mlp.dense_4h_to_h.weight", "ffn_down.weight", [e, 4 * e], .identity, true),
        ])) { a, _ in a }
        var d = ArchitectureDescription(
            architecture: .falcon, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .bpe,
            tokenEmbedding: "transformer.word_embeddings.weight", layerPrefix: "transformer.h.",
            layerCountKey: "num_hidden_layers",
            shapeSummary: "vocab_size \(vocab), hidden_size \(e), \(heads) heads, \(kvHeads) key/value heads of \(hd)")
        d.quantizationRules = .falcon
        d.unexpectedTensorHint = { name in
            if name.hasSuffix(".input_layernorm.weight") || name.hasSuffix(".input_layernorm.bias") {
                return "one input_layernorm per block is the 7B layout, but config.json says new_decoder_architecture (ln_attn and ln_mlp)"
            }
            if name.contains(".ln_attn.") || name.contains(".ln_mlp.") {
                return "ln_attn and ln_mlp are the 40B/180B layout, but config.json does not say new_decoder_architecture"
            }
            return nil
        }
        return d
    }

    // MARK: GPT-NeoX

    /// GPTNeoXModel (Pythia): fused query_key_value per head like BLOOM, partial NeoX-style rope
    /// (no permutation: llama.cpp's NEOX rope rotates the same halves), parallel residual.
    static func gptNeoX(config: JSONObject) throws -> ArchitectureDescription {
        let e = try config.count(["hidden_size"], what: "hidden size")
        let heads = try config.count(["num_attention_heads"], what: "attention head count")
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let ff = try config.count(["intermediate_size"], what: "feed-forward size")
        let context = try config.count(["max_position_embeddings"], what: "context length")
        let eps = try config.positiveNumber(["layer_norm_eps"], what: "layer norm epsilon")
        let rotaryPct = try config.positiveNumber(["rotary_pct"], what: "rotary fraction")
        let vocab = try vocabSize(config)
        let parallel = try config.boolean("use_parallel_residual") ?? true
        let h = try common(config: config, blocks: blocks, context: context, embedding: e, feedForward: ff,
                           heads: heads, kvHeads: heads, epsilon: eps, vocab: vocab, headsKey: "num_attention_heads")
        let a = "gptneox"
        let keys: [(key: String, value: GGUFValue)] = [
            ("\(a).context_length", u32(context)), ("\(a).embedding_length", u32(e)), ("\(a).block_count", u32(blocks)),
            ("\(a).feed_forward_length", u32(ff)),
            ("\(a).rope.dimension_count", u32(Int(rotaryPct * Double(h.headDimension)))),
            ("\(a).attention.head_count", u32(heads)), ("\(a).use_parallel_residual", .bool(parallel)),
            ("\(a).attention.layer_norm_epsilon", .float32(Float(eps))),
        ]
        let qkv = RowOrder.headInterleavedQKV(heads: heads, headDimension: h.headDimension)
        var tensors: [String: TensorRule] = [
            "gpt_neox.embed_in.weight": rule("token_embd.weight", [vocab, e]),
            "gpt_neox.final_layer_norm.weight": rule("output_norm.weight", [e]),
            "gpt_neox.final_layer_norm.bias": rule("output_norm.bias", [e]),
            "embed_out.weight": rule("output.weight", [vocab, e]),
        ]
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "gpt_neox.layers.\($0)." },
            weightAndBias("input_layernorm", "attn_norm", [e])
            + weightAndBias("attention.query_key_value", "attn_qkv", [3 * e, e], rows: qkv)
            + weightAndBias("attention.dense", "attn_output", [e, e])
            + weightAndBias("post_attention_layernorm", "ffn_norm", [e])
            + weightAndBias("mlp.dense_h_to_4h", "ffn_up", [ff, e])
            + weightAndBias("mlp.dense_4h_to_h", "ffn_down", [e, ff]))) { a, _ in a }
        var d = ArchitectureDescription(
            architecture: .gptNeoX, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .bpe,
            tokenEmbedding: "gpt_neox.embed_in.weight", layerPrefix: "gpt_neox.layers.", layerCountKey: "num_hidden_layers",
            shapeSummary: "vocab_size \(vocab), hidden_size \(e), intermediate_size \(ff), \(heads) heads")
        // The GPT-NeoX-20B vocabulary (Pythia's) hashes like OLMo's in get_vocab_base_pre.
        d.byteLevelPreTokenizer = "olmo"
        return d
    }

    // MARK: MPT

    /// MPTModel: Wqkv already in q, k, v order, LayerNorms usually without biases, ALiBi or
    /// learned positions, output tied to the embedding.
    static func mpt(config: JSONObject) throws -> ArchitectureDescription {
        let e = try config.count(["d_model"], what: "hidden size (d_model)")
        let heads = try config.count(["n_heads"], what: "attention head count (n_heads)")
        let blocks = try config.count(blockCountKeys, what: "layer count")
        let context = try config.count(["max_seq_len"], what: "context length (max_seq_len)")
        let vocab = try vocabSize(config)
        guard let attn = try config.object("attn_config") else {
            throw config.missing("attn_config", hint: "MPT's config.json keeps alibi and clip_qkv there")
        }
        let kvHeads = try attn.integer("kv_n_heads")
        let clip = try attn.number("clip_qkv")
        guard let alibi = try attn.boolean("alibi") else { throw attn.missing("attn_config.alibi") }
        let alibiMax = try alibi ? attn.number("alibi_bias_max") ?? 8 : 0
        if let ratio = try config.number("expansion_ratio"), ratio != 4 {
            throw config.invalid("expansion_ratio", "expansion_ratio \(ratio) is not 4: MPTModel writes a feed-forward length of 4 x d_model")
        }
        let h = try common(config: config, blocks: blocks, context: context, embedding: e, feedForward: 4 * e,
                           heads: heads, kvHeads: kvHeads ?? heads, epsilon: 1e-5, vocab: vocab, headsKey: "attn_config.kv_n_heads")
        let a = "mpt"
        var keys: [(key: String, value: GGUFValue)] = [
            ("\(a).context_length", u32(context)), ("\(a).embedding_length", u32(e)), ("\(a).block_count", u32(blocks)),
            ("\(a).feed_forward_length", u32(4 * e)), ("\(a).attention.head_count", u32(heads)),
        ]
        if let kvHeads { keys.append(("\(a).attention.head_count_kv", u32(kvHeads))) }
        keys.append(("\(a).attention.layer_norm_epsilon", .float32(1e-5)))
        if let clip { keys.append(("\(a).attention.clamp_kqv", .float32(Float(clip)))) }
        keys.append(("\(a).attention.max_alibi_bias", .float32(Float(alibiMax))))

        let kv = h.headCountKV * h.headDimension
        var tensors: [String: TensorRule] = [
            "transformer.wte.weight": rule("token_embd.weight", [vocab, e]),
            "transformer.wpe.weight": rule("position_embd.weight", [context, e], required: false),
            "transformer.norm_f.weight": rule("output_norm.weight", [e]),
            "transformer.norm_f.bias": rule("output_norm.bias", [e], required: false),
            "lm_head.weight": rule("output.weight", [vocab, e], required: false),
        ]
        func optionalBias(_ s: String, _ t: String, _ w: [Int]) -> [(String, String, [Int], RowOrder, Bool)] {
            weightAndBias(s, t, w, biasRequired: false)
        }
        tensors.merge(blockRules(count: blocks, checkpointPrefix: { "transformer.blocks.\($0)." },
            optionalBias("norm_1", "attn_norm", [e])
            + optionalBias("attn.Wqkv", "attn_qkv", [e + 2 * kv, e])
            + optionalBias("attn.out_proj", "attn_output", [e, e])
            + optionalBias("norm_2", "ffn_norm", [e])
            + optionalBias("ffn.up_proj", "ffn_up", [4 * e, e])
            + optionalBias("ffn.down_proj", "ffn_down", [e, 4 * e])
            + weightAndBias("attn.q_ln", "attn_q_norm", [e], required: false)
            + weightAndBias("attn.k_ln", "attn_k_norm", [kv], required: false))) { a, _ in a }
        var d = ArchitectureDescription(
            architecture: .mpt, hyperparameters: h, keys: keys, tensors: tensors, tokenizer: .bpe,
            tokenEmbedding: "transformer.wte.weight", layerPrefix: "transformer.blocks.", layerCountKey: "n_layers",
            shapeSummary: "vocab_size \(vocab), d_model \(e), \(heads) heads, \(h.headCountKV) key/value heads")
        // mpt-7b's vocabulary is GPT-NeoX-20B's; get_vocab_base_pre's table lists its hash for
        // "mpt" and again, later, for "olmo", and the later assignment wins.
        d.byteLevelPreTokenizer = "olmo"
        return d
    }
}
