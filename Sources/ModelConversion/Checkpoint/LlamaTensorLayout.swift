import Foundation
import GGUF
import WeightFormats

/// One tensor of the GGUF being written: its llama.cpp name and shape, and where its values
/// come from.
struct LayoutTensor: Sendable {
    enum Source: Sendable {
        /// A checkpoint tensor, rows taken in `rows` order.
        case checkpoint(name: String, rows: RowOrder)
        /// Values computed by the converter (Llama 3.1's rope frequency factors).
        case values([Float])
    }

    let name: String
    /// ggml `ne`, innermost first.
    let dimensions: [UInt64]
    let source: Source
}

/// The Llama tensor map (gguf-py's TensorNameMap for MODEL_ARCH.LLAMA, restricted to what
/// LlamaForCausalLM checkpoints hold), with every shape checked against config.json.
enum LlamaTensorLayout {
    /// Tensors convert_hf_to_gguf.py drops (ModelBase.prepare_tensors).
    static func isIgnored(_ name: String) -> Bool {
        name.hasSuffix(".rotary_emb.inv_freq") || name.hasSuffix(".attention.masked_bias") || name.hasSuffix(".attention.bias")
    }

    private struct Mapping {
        let gguf: String
        /// Expected PyTorch shape, outermost first.
        let shape: [Int]
        let rows: RowOrder
        let required: Bool
    }

    static func layout(
        checkpoint: SafetensorsCheckpoint, hyperparameters h: LlamaHyperparameters, configFile: String
    ) throws -> [LayoutTensor] {
        let q = h.headCount * h.headDimension
        let kv = h.headCountKV * h.headDimension
        let rotary = RowOrder.rotaryInterleaved(headDimension: h.headDimension)
        var expected: [String: Mapping] = [
            "model.embed_tokens.weight": Mapping(gguf: "token_embd.weight", shape: [h.vocabSize, h.embeddingLength], rows: .identity, required: true),
            "model.norm.weight": Mapping(gguf: "output_norm.weight", shape: [h.embeddingLength], rows: .identity, required: true),
            "lm_head.weight": Mapping(gguf: "output.weight", shape: [h.vocabSize, h.embeddingLength], rows: .identity, required: false),
        ]
        for i in 0..<h.blockCount {
            let hf = "model.layers.\(i)."
            let blk = "blk.\(i)."
            let layer: [(String, String, [Int], RowOrder, Bool)] = [
                ("input_layernorm.weight", "attn_norm.weight", [h.embeddingLength], .identity, true),
                ("self_attn.q_proj.weight", "attn_q.weight", [q, h.embeddingLength], rotary, true),
                ("self_attn.k_proj.weight", "attn_k.weight", [kv, h.embeddingLength], rotary, true),
                ("self_attn.v_proj.weight", "attn_v.weight", [kv, h.embeddingLength], .identity, true),
                ("self_attn.o_proj.weight", "attn_output.weight", [h.embeddingLength, q], .identity, true),
                ("self_attn.q_proj.bias", "attn_q.bias", [q], rotary, false),
                ("self_attn.k_proj.bias", "attn_k.bias", [kv], rotary, false),
                ("self_attn.v_proj.bias", "attn_v.bias", [kv], .identity, false),
                ("self_attn.o_proj.bias", "attn_output.bias", [h.embeddingLength], .identity, false),
                ("post_attention_layernorm.weight", "ffn_norm.weight", [h.embeddingLength], .identity, true),
                ("mlp.gate_proj.weight", "ffn_gate.weight", [h.feedForwardLength, h.embeddingLength], .identity, true),
                ("mlp.up_proj.weight", "ffn_up.weight", [h.feedForwardLength, h.embeddingLength], .identity, true),
                ("mlp.down_proj.weight", "ffn_down.weight", [h.embeddingLength, h.feedForwardLength], .identity, true),
                ("mlp.gate_proj.bias", "ffn_gate.bias", [h.feedForwardLength], .identity, false),
                ("mlp.up_proj.bias", "ffn_up.bias", [h.feedForwardLength], .identity, false),
                ("mlp.down_proj.bias", "ffn_down.bias", [h.embeddingLength], .identity, false),
            ]
            for (source, target, shape, rows, required) in layer {
                expected[hf + source] = Mapping(gguf: blk + target, shape: shape, rows: rows, required: required)
            }
        }

        var tensors: [LayoutTensor] = []
        for name in checkpoint.tensorNames {
            if isIgnored(name) { continue }
            guard let (file, info) = checkpoint.locate(name) else { continue }
            guard let mapping = expected[name] else {
                var hint = "lineage maps the tensors of LlamaForCausalLM checkpoints only"
                if name.hasPrefix("model.layers."), let n = Int(name.split(separator: ".")[2]), n >= h.blockCount {
                    hint = "config.json says num_hidden_layers is \(h.blockCount); the weights and the config disagree"
                }
                throw ConversionError(.unexpectedTensor, file: file.url.path, subject: "tensor '\(name)'",
                                      message: "no Llama GGUF tensor corresponds to this tensor", hint: hint)
            }
            guard info.shape == mapping.shape else {
                throw ConversionError(
                    .shapeMismatch, file: file.url.path, subject: "tensor '\(name)'",
                    message: "shape \(info.shape) disagrees with \(configFile), which needs \(mapping.shape) (\(describe(h)))",
                    hint: "the weights and config.json belong to different models, or the file is corrupt")
            }
            guard info.dtype.isConvertibleToFloat else {
                throw ConversionError(
                    .unsupportedDType, file: file.url.path, subject: "tensor '\(name)'",
                    message: "dtype \(info.dtype.rawValue) cannot be converted; F32, F16, BF16 and F64 can",
                    hint: "pre-quantized checkpoints (GPTQ, AWQ, FP8) must be dequantized first")
            }
            tensors.append(LayoutTensor(name: mapping.gguf, dimensions: info.ggmlDimensions,
                                        source: .checkpoint(name: name, rows: mapping.rows)))
        }
        let present = Set(checkpoint.tensorNames)
        for (name, mapping) in expected.sorted(by: { $0.key < $1.key }) where mapping.required && !present.contains(name) {
            throw ConversionError(
                .missingTensor, file: checkpoint.files.first?.url.deletingLastPathComponent().path, subject: "tensor '\(name)'",
                message: "the checkpoint has no \(name) (GGUF \(mapping.gguf)), which a \(h.blockCount)-layer Llama needs",
                hint: "download every shard of the checkpoint")
        }
        if case .llama3(let factor, let low, let high, let original) = h.ropeScaling {
            let values = RopeFrequencyFactors.llama3(
                base: h.ropeFreqBase ?? 10000, headDimension: h.headDimension, factor: factor,
                lowFrequencyFactor: low, highFrequencyFactor: high, originalContextLength: original)
            tensors.append(LayoutTensor(name: "rope_freqs.weight", dimensions: [UInt64(values.count)], source: .values(values)))
        }
        return LlamaTensorOrder.sorted(tensors)
    }

    private static func describe(_ h: LlamaHyperparameters) -> String {
        "vocab_size \(h.vocabSize), hidden_size \(h.embeddingLength), intermediate_size \(h.feedForwardLength), "
            + "\(h.headCount) heads, \(h.headCountKV) key/value heads of \(h.headDimension)"
    }
}

/// llama.cpp's weight order (llama_model_loader::weight_name_comparer): tensors outside the
/// blocks first, then block by block (numerically), by name within each. llama-quantize writes
/// tensors in this order, so we write ours in it too.
enum LlamaTensorOrder {
    static func layer(of name: String) -> Int {
        // sscanf("blk.%d.") semantics: digits right after "blk.", followed by anything.
        guard name.hasPrefix("blk.") else { return -1 }
        let digits = name.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
        return Int(digits) ?? -1
    }

    static func sorted(_ tensors: [LayoutTensor]) -> [LayoutTensor] {
        tensors.sorted { a, b in
            let la = layer(of: a.name), lb = layer(of: b.name)
            if la != lb { return la < lb }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
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
