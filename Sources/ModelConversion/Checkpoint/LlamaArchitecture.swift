import Foundation
import GGUF

/// LlamaForCausalLM (convert_hf_to_gguf.py's LlamaModel): the tensor map of gguf-py's
/// TensorNameMap for MODEL_ARCH.LLAMA restricted to what these checkpoints hold, queries and
/// keys permuted for llama.cpp's rope, and TextModel's keys plus LlamaModel's additions.
extension ArchitectureDescription {
    static func llama(config: JSONObject) throws -> ArchitectureDescription {
        let h = try LlamaHyperparameters.read(from: config)
        let q = h.headCount * h.headDimension
        let kv = h.headCountKV * h.headDimension
        let e = h.embeddingLength, ff = h.feedForwardLength
        let rotary = RowOrder.rotaryInterleaved(headDimension: h.headDimension)
        var tensors: [String: TensorRule] = [
            "model.embed_tokens.weight": rule("token_embd.weight", [h.vocabSize, e]),
            "model.norm.weight": rule("output_norm.weight", [e]),
            "lm_head.weight": rule("output.weight", [h.vocabSize, e], required: false),
        ]
        tensors.merge(blockRules(count: h.blockCount, checkpointPrefix: { "model.layers.\($0)." }, [
            ("input_layernorm.weight", "attn_norm.weight", [e], .identity, true),
            ("self_attn.q_proj.weight", "attn_q.weight", [q, e], rotary, true),
            ("self_attn.k_proj.weight", "attn_k.weight", [kv, e], rotary, true),
            ("self_attn.v_proj.weight", "attn_v.weight", [kv, e], .identity, true),
            ("self_attn.o_proj.weight", "attn_output.weight", [e, q], .identity, true),
            ("self_attn.q_proj.bias", "attn_q.bias", [q], rotary, false),
            ("self_attn.k_proj.bias", "attn_k.bias", [kv], rotary, false),
            ("self_attn.v_proj.bias", "attn_v.bias", [kv], .identity, false),
            ("self_attn.o_proj.bias", "attn_output.bias", [e], .identity, false),
            ("post_attention_layernorm.weight", "ffn_norm.weight", [e], .identity, true),
            ("mlp.gate_proj.weight", "ffn_gate.weight", [ff, e], .identity, true),
            ("mlp.up_proj.weight", "ffn_up.weight", [ff, e], .identity, true),
            ("mlp.down_proj.weight", "ffn_down.weight", [e, ff], .identity, true),
            ("mlp.gate_proj.bias", "ffn_gate.bias", [ff], .identity, false),
            ("mlp.up_proj.bias", "ffn_up.bias", [ff], .identity, false),
            ("mlp.down_proj.bias", "ffn_down.bias", [e], .identity, false),
        ])) { a, _ in a }

        var computed: [LayoutTensor] = []
        if case .llama3(let factor, let low, let high, let original) = h.ropeScaling {
            let values = RopeFrequencyFactors.llama3(
                base: h.ropeFreqBase ?? 10000, headDimension: h.headDimension, factor: factor,
                lowFrequencyFactor: low, highFrequencyFactor: high, originalContextLength: original)
            computed.append(LayoutTensor(name: "rope_freqs.weight", dimensions: [UInt64(values.count)], source: .values(values)))
        }
        var d = ArchitectureDescription(
            architecture: .llama, hyperparameters: h, keys: keys(h), tensors: tensors, tokenizer: .sentencePieceOrBPE,
            tokenEmbedding: "model.embed_tokens.weight", layerPrefix: "model.layers.", layerCountKey: "num_hidden_layers",
            shapeSummary: "vocab_size \(h.vocabSize), hidden_size \(e), intermediate_size \(ff), "
                + "\(h.headCount) heads, \(h.headCountKV) key/value heads of \(h.headDimension)")
        d.quantizationRules = .llama
        d.computedTensors = computed
        return d
    }

    /// TextModel.set_gguf_parameters followed by LlamaModel's additions, in their order.
    private static func keys(_ h: LlamaHyperparameters) -> [(key: String, value: GGUFValue)] {
        let arch = ModelArchitecture.llama.ggufName
        var kv: [(key: String, value: GGUFValue)] = [
            ("\(arch).block_count", .uint32(UInt32(h.blockCount))),
            ("\(arch).context_length", .uint32(UInt32(h.contextLength))),
            ("\(arch).embedding_length", .uint32(UInt32(h.embeddingLength))),
            ("\(arch).feed_forward_length", .uint32(UInt32(h.feedForwardLength))),
            ("\(arch).attention.head_count", .uint32(UInt32(h.headCount))),
            ("\(arch).attention.head_count_kv", .uint32(UInt32(h.headCountKV))),
        ]
        switch h.ropeScaling {
        case .none, .llama3:
            break
        case .linear(let factor):
            kv.append(("\(arch).rope.scaling.type", .string("linear")))
            kv.append(("\(arch).rope.scaling.factor", .float32(Float(factor))))
        case .yarn(let factor, let original):
            kv.append(("\(arch).rope.scaling.type", .string("yarn")))
            kv.append(("\(arch).rope.scaling.factor", .float32(Float(factor))))
            kv.append(("\(arch).rope.scaling.original_context_length", .uint32(UInt32(original))))
        }
        if let base = h.ropeFreqBase { kv.append(("\(arch).rope.freq_base", .float32(Float(base)))) }
        kv.append(("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(h.rmsNormEpsilon))))
        if h.headDimensionIsExplicit {
            kv.append(("\(arch).attention.key_length", .uint32(UInt32(h.headDimension))))
            kv.append(("\(arch).attention.value_length", .uint32(UInt32(h.headDimension))))
        }
        kv.append(("\(arch).vocab_size", .uint32(UInt32(h.vocabSize))))
        kv.append(("\(arch).rope.dimension_count", .uint32(UInt32(h.headDimension))))
        return kv
    }
}

/// Llama 3.1's rope frequency factors (LlamaModel.generate_extra_tensors), computed in
/// float32 as the converter's torch code does.
enum RopeFrequencyFactors {
    static func llama3(
        base: Double, headDimension dim: Int, factor: Double, lowFrequencyFactor low: Double,
        highFrequencyFactor high: Double, originalContextLength: Int
    ) -> [Float] {
        let lowWavelength = Float(Double(originalContextLength) / low)
        let highWavelength = Float(Double(originalContextLength) / high)
        let twoPi = Float(2 * Double.pi)
        return stride(from: 0, to: dim, by: 2).map { i -> Float in
            let freq = 1 / Float(pow(Float(base), Float(i) / Float(dim)))
            let wavelength = twoPi / freq
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = (Float(originalContextLength) / wavelength - Float(low)) / Float(high - low)
            return 1 / ((1 - smooth) / Float(factor) + smooth)
        }
    }
}
