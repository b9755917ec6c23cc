import GGUF

/// One architecture as the converter sees it, worked out from config.json: the GGUF keys its
/// hyperparameters become (in convert_hf_to_gguf.py's order), which checkpoint tensor becomes
/// which GGUF tensor with what shape and row rearrangement, which tokenizer it uses, and which
/// of llama.cpp's per-architecture quantization rules apply. Each architecture is one function
/// building this value (see `ModelArchitecture.describe`); everything after it (shape checks,
/// tensor order, type choice, writing) is shared.
struct ArchitectureDescription {
    /// One GGUF tensor made from (part of) a checkpoint tensor.
    struct Output {
        let gguf: String
        /// PyTorch shape of the output, outermost first.
        let shape: [Int]
        let rows: RowOrder

        init(_ gguf: String, _ shape: [Int], rows: RowOrder = .identity) {
            self.gguf = gguf
            self.shape = shape
            self.rows = rows
        }
    }

    /// What a checkpoint tensor must look like and what it becomes (usually one output;
    /// Baichuan's W_pack becomes three).
    struct TensorRule {
        let shape: [Int]
        let outputs: [Output]
        let required: Bool
    }

    /// Where the vocabulary comes from.
    enum TokenizerSource {
        /// tokenizer.model when present, else tokenizer.json (LlamaModel.set_vocab).
        case sentencePieceOrBPE
        /// tokenizer.json (TextModel._set_vocab_gpt2).
        case bpe
        /// tokenizer.model (TextModel._set_vocab_sentencepiece).
        case sentencePiece
    }

    /// llama-quant.cpp's type choices differ for Falcon (output Q8_0, milder ffn_down and
    /// attn_output promotions) and, for Llama only, the 70B attn_v rule.
    enum QuantizationRules: Sendable, Equatable {
        case standard
        case llama
        case falcon
    }

    let architecture: ModelArchitecture
    /// The shape every architecture shares (for non-Llama ones the epsilon is the layer-norm
    /// epsilon and the rope fields are unused).
    let hyperparameters: LlamaHyperparameters
    /// `<arch>.*` keys (and the few others a model class writes in set_gguf_parameters).
    let keys: [(key: String, value: GGUFValue)]
    /// Checkpoint tensor name (after `normalize`) -> rule.
    let tensors: [String: TensorRule]
    /// Maps a checkpoint name to the one the rules use (BLOOM drops "transformer.").
    var normalize: (String) -> String = { $0 }
    /// A more specific hint for a tensor the rules do not know (Falcon's two block styles).
    var unexpectedTensorHint: (String) -> String? = { _ in nil }
    /// Checkpoint tensors convert_hf_to_gguf.py drops.
    var ignored: (String) -> Bool = { _ in false }
    let tokenizer: TokenizerSource
    /// The pre-tokenizer name convert_hf_to_gguf.py's hash table gives this family's plain
    /// byte-level BPE (GPT-2's regex), e.g. "olmo" for the GPT-NeoX-20B vocabulary.
    var byteLevelPreTokenizer = "gpt-2"
    /// Checkpoint name (normalized) of the token embedding, whose rows must match vocab_size.
    let tokenEmbedding: String
    var quantizationRules: QuantizationRules = .standard
    /// Tensors computed from config.json alone (Llama 3.1's rope factors).
    var computedTensors: [LayoutTensor] = []
    /// Prefix of the per-layer tensors and the config key of their count, for the hint when
    /// the weights have more layers than config.json says.
    let layerPrefix: String
    let layerCountKey: String
    /// "vocab_size 400, hidden_size 256, ...": the config values the shapes come from.
    let shapeSummary: String

    var displayName: String { architecture.displayName }
}

/// Building blocks the per-architecture descriptions share.
extension ArchitectureDescription {
    /// Rules for a list of (checkpoint suffix, GGUF suffix, shape, row order, required) under
    /// per-block prefixes.
    static func blockRules(
        count: Int, checkpointPrefix: (Int) -> String,
        _ entries: [(String, String, [Int], RowOrder, Bool)]
    ) -> [String: TensorRule] {
        var rules: [String: TensorRule] = [:]
        for i in 0..<count {
            for (source, target, shape, rows, required) in entries {
                rules[checkpointPrefix(i) + source] = TensorRule(
                    shape: shape, outputs: [Output("blk.\(i)." + target, shape, rows: rows)], required: required)
            }
        }
        return rules
    }

    /// A weight and its bias with the same GGUF stem, e.g. a LayerNorm.
    static func weightAndBias(_ source: String, _ target: String, _ weight: [Int], bias: [Int]? = nil,
                              rows: RowOrder = .identity, required: Bool = true, biasRequired: Bool? = nil)
        -> [(String, String, [Int], RowOrder, Bool)] {
        [(source + ".weight", target + ".weight", weight, rows, required),
         (source + ".bias", target + ".bias", bias ?? [weight[0]], rows, biasRequired ?? required)]
    }

    static func rule(_ gguf: String, _ shape: [Int], required: Bool = true) -> TensorRule {
        TensorRule(shape: shape, outputs: [Output(gguf, shape)], required: required)
    }
}
