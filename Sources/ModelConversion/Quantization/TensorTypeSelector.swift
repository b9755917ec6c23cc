import GGUF

/// Chooses each tensor's ggml type for a preset exactly as llama.cpp's quantizer does
/// (src/llama-quant.cpp: tensor_allows_quantization, llama_tensor_get_type,
/// llama_tensor_get_type_impl and tensor_type_fallback), so that our output is the file
/// llama-quantize would write from the same weights.
///
/// The choice depends on counters that advance as tensors are visited (the n-th `attn_v`,
/// the n-th `ffn_down`), so tensors must be asked for in file order, which is llama.cpp's
/// weight order (see `LlamaTensorOrder`). The branches for lineage's presets and dense
/// architectures are reproduced, Falcon's exceptions included; those for mixtures of experts
/// and the IQ/TQ types cannot apply to what lineage writes.
struct TensorTypeSelector {
    /// ggml's tensor categories as llama-quant.cpp's tensor_get_category names them.
    enum Category {
        case tokenEmbedding, attentionQ, attentionV, attentionK, attentionQKV, attentionKVB
        case attentionOutput, ffnUp, ffnGate, ffnDown, output, other

        init(name: String) {
            if name == "output.weight" { self = .output; return }
            if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { self = .tokenEmbedding; return }
            let ordered: [(String, Category)] = [
                ("attn_qkv.weight", .attentionQKV), ("attn_kv_b.weight", .attentionKVB), ("attn_v.weight", .attentionV),
                ("attn_k.weight", .attentionK), ("attn_q.weight", .attentionQ), ("attn_output.weight", .attentionOutput),
                ("ffn_up", .ffnUp), ("ffn_gate", .ffnGate), ("ffn_down", .ffnDown),
            ]
            self = ordered.first { name.contains($0.0) }?.1 ?? .other
        }

        /// category_is_attn_v: the value-like projections that get more bits.
        var isAttentionV: Bool { self == .attentionV || self == .attentionQKV || self == .attentionKVB }
    }

    /// A row length that neither the chosen type nor its 32-element fallback divides.
    struct NoFallback: Error {
        let type: GGMLType
        let fallback: GGMLType
        let rowLength: UInt64
    }

    let preset: QuantizationPreset
    /// Which architecture's exceptions apply.
    let rules: ArchitectureDescription.QuantizationRules
    let layerCount: Int
    /// llama_hparams::n_gqa(): attention heads per key/value head.
    let groupedQueryFactor: Int
    /// llama.cpp's LLM_TYPE_70B (80 Llama layers with grouped-query attention) gives attn_v more bits.
    let is70B: Bool
    /// No `output.weight`: the token embedding doubles as the output and is treated as one.
    let hasTiedEmbeddings: Bool
    let attentionVCount: Int
    /// Store tensors no quantized block fits as F16, as llama.cpp does, instead of refusing them.
    let allowF16Fallback: Bool

    private(set) var attentionVIndex = 0
    private(set) var ffnDownIndex = 0
    private(set) var ffnGateIndex = 0
    private(set) var ffnUpIndex = 0
    /// Tensors whose row length forced a fallback type (llama.cpp warns about each).
    private(set) var fallbacks: [(name: String, rowLength: UInt64, from: GGMLType, to: GGMLType)] = []

    init(preset: QuantizationPreset, tensorNames: [String], layerCount: Int, headCount: Int, headCountKV: Int,
         rules: ArchitectureDescription.QuantizationRules = .llama, allowF16Fallback: Bool = false) {
        self.preset = preset
        self.rules = rules
        self.allowF16Fallback = allowF16Fallback
        self.layerCount = layerCount
        self.groupedQueryFactor = headCount / headCountKV
        // llama_model_quantize infers LLM_TYPE_70B for LLM_ARCH_LLAMA only.
        self.is70B = rules == .llama && layerCount == 80 && headCount != headCountKV
        let categories = tensorNames.map(Category.init(name:))
        self.hasTiedEmbeddings = !categories.contains(.output)
        self.attentionVCount = categories.filter(\.isAttentionV).count
    }

    /// ggml_n_dims: dimensions up to the last one larger than 1.
    static func dimensionCount(_ ne: [UInt64]) -> Int {
        for i in stride(from: ne.count - 1, through: 1, by: -1) where ne[i] > 1 { return i + 1 }
        return 1
    }

    /// tensor_allows_quantization, for the tensor names of the architectures lineage converts.
    static func allowsQuantization(name: String, dimensions ne: [UInt64]) -> Bool {
        guard dimensionCount(ne) >= 2 else { return false }
        guard name.hasSuffix("weight"), !name.contains("_norm.weight") else { return false }
        let excluded = ["ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
                        "shortconv.conv.weight", "attn_rel_b.weight", ".position_embd", ".rel_pos"]
        return !excluded.contains { name.contains($0) } && name != "position_embd.weight" && name != "token_types.weight"
    }

    /// The type of the next tensor in file order. Tensors llama.cpp does not quantize keep the
    /// type they have in an F32 conversion: F32.
    mutating func nextType(name: String, dimensions ne: [UInt64]) throws(NoFallback) -> GGMLType {
        guard Self.allowsQuantization(name: name, dimensions: ne) else { return .f32 }
        let defaultType = preset.defaultType
        guard defaultType.isQuantized else { return defaultType }
        let chosen = chooseType(defaultType, name: name, rowLength: ne[0], category: Category(name: name))
        return try fallback(chosen, name: name, rowLength: ne[0])
    }

    private func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// llama_tensor_get_type_impl for lineage's presets.
    private mutating func chooseType(_ start: GGMLType, name: String, rowLength: UInt64, category: Category) -> GGMLType {
        var type = start
        switch category {
        case .output:
            type = outputType(type, rowLength: rowLength)
        case .tokenEmbedding:
            // Tied: the embedding is the output projection too. Otherwise only the IQ/TQ
            // presets change it.
            if hasTiedEmbeddings { type = outputType(type, rowLength: rowLength) }
        case .attentionV, .attentionQKV, .attentionKVB:
            switch preset {
            case .q2_K: type = groupedQueryFactor >= 4 ? .q4_K : .q3_K
            case .q3_K_M: type = attentionVIndex < 2 ? .q5_K : .q4_K
            case .q3_K_L: type = .q5_K
            case .q4_K_M, .q5_K_M: if useMoreBits(attentionVIndex, attentionVCount) { type = .q6_K }
            case .q4_K_S: if attentionVIndex < 4 { type = .q5_K }
            default: break
            }
            if is70B, type == .q3_K || type == .q4_K { type = .q5_K }
            attentionVIndex += 1
        case .ffnDown:
            let layer = ffnDownIndex, layers = layerCount
            let falcon = rules == .falcon
            switch preset {
            case .q2_K: type = .q3_K
            case .q3_K_M: type = layer < layers / 16 ? .q5_K : (!falcon || useMoreBits(layer, layers)) ? .q4_K : .q3_K
            case .q3_K_L: type = falcon ? .q4_K : .q5_K
            case .q4_K_M:
                if falcon {
                    type = layer < layers / 16 ? .q6_K : useMoreBits(layer, layers) ? .q5_K : .q4_K
                } else if useMoreBits(layer, layers) {
                    type = .q6_K
                }
            case .q5_K_M: if useMoreBits(layer, layers) { type = .q6_K }
            case .q4_K_S: if !falcon, layer < layers / 8 { type = .q5_K }
            default: break
            }
            ffnDownIndex += 1
        case .attentionOutput:
            switch (preset, rules == .falcon) {
            case (.q2_K, false): type = .q3_K
            case (.q3_K_M, false): type = .q4_K
            case (.q3_K_L, false): type = .q5_K
            case (.q3_K_L, true): type = .q4_K
            default: break
            }
        case .ffnGate:
            ffnGateIndex += 1
        case .ffnUp:
            ffnUpIndex += 1
        case .attentionK, .attentionQ, .other:
            break
        }
        return type
    }

    /// The output projection keeps precision: Q6_K, or Q8_0 when its rows are not whole blocks
    /// of the preset's type (or the preset is Q8_0 already, or the model is a Falcon).
    private func outputType(_ type: GGMLType, rowLength: UInt64) -> GGMLType {
        if rules == .falcon || rowLength % UInt64(type.blockSize) != 0 { return .q8_0 }
        return type == .q8_0 ? .q8_0 : .q6_K
    }

    /// tensor_type_fallback: a row that is not whole blocks of the chosen type falls back to a
    /// 32-element type (Q2_K, Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), and to F16
    /// when even that does not divide it (the llama.cpp we are checked against also sends the
    /// 32-element types themselves to F16). That last step quietly turns part of, say, a Q4_K_M
    /// file into F16, so it only happens when `allowF16Fallback` asks for llama.cpp's behaviour;
    /// otherwise the tensor is refused.
    private mutating func fallback(_ type: GGMLType, name: String, rowLength: UInt64) throws(NoFallback) -> GGMLType {
        guard rowLength % UInt64(type.blockSize) != 0 else { return type }
        var result: GGMLType
        switch type {
        case .q2_K, .q3_K: result = .q4_0
        case .q4_K: result = .q5_0
        case .q5_K: result = .q5_1
        case .q6_K: result = .q8_0
        default: result = type
        }
        if rowLength % UInt64(result.blockSize) != 0 {
            guard allowF16Fallback else { throw NoFallback(type: type, fallback: result, rowLength: rowLength) }
            result = .f16
        }
        fallbacks.append((name, rowLength, type, result))
        return result
    }
}
