/// The hyperparameters of a Llama checkpoint as config.json states them, validated and typed
/// the way llama.cpp reads them back (counts as UINT32, epsilon and rope base as FLOAT32).
///
/// Field names follow convert_hf_to_gguf.py's TextModel.set_gguf_parameters: each value is
/// looked up under the Hugging Face name first and then under the aliases other checkpoints
/// use (find_hparam), so that early LLaMA configs (`max_sequence_length`) convert too.
public struct LlamaHyperparameters: Sendable, Equatable {
    public var blockCount: Int
    public var contextLength: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    /// Per-head dimension: config.json's `head_dim` when given, else hidden / heads.
    public var headDimension: Int
    /// True when config.json gave `head_dim` explicitly (then key/value lengths are written too).
    public var headDimensionIsExplicit: Bool
    public var rmsNormEpsilon: Double
    /// `rope_theta`; nil when config.json does not give one (llama.cpp then uses 10000).
    public var ropeFreqBase: Double?
    public var ropeScaling: RopeScaling
    public var vocabSize: Int
    public var tieWordEmbeddings: Bool

    public enum RopeScaling: Sendable, Equatable {
        case none
        /// Position interpolation (rope_type "linear").
        case linear(factor: Double)
        /// YaRN (rope_type "yarn").
        case yarn(factor: Double, originalContextLength: Int)
        /// Llama 3.1's frequency-dependent scaling (rope_type "llama3"), stored by llama.cpp as a
        /// `rope_freqs.weight` tensor rather than as keys.
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Int)
    }

    static func read(from config: JSONObject) throws -> LlamaHyperparameters {
        func require(_ keys: [String], what: String) throws -> Int { try config.count(keys, what: what) }
        func first(_ keys: [String]) throws -> (String, Int)? { try config.firstInteger(keys) }
        let blocks = try require(["num_hidden_layers", "n_layers", "n_layer", "num_layers"], what: "layer count")
        let context = try require(
            ["max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length"],
            what: "context length")
        let embedding = try require(["hidden_size", "n_embd", "dim"], what: "hidden size")
        let ffn = try require(["intermediate_size", "n_inner", "hidden_dim"], what: "feed-forward size")
        let heads = try require(["num_attention_heads", "n_head", "n_heads"], what: "attention head count")
        let kvHeads = try first(["num_key_value_heads", "n_kv_heads"])?.1 ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw config.invalid("num_key_value_heads", "\(kvHeads) key/value heads do not divide \(heads) attention heads")
        }
        let explicitHeadDim = try config.integer("head_dim")
        let headDim: Int
        if let explicitHeadDim {
            guard explicitHeadDim > 0, explicitHeadDim % 2 == 0 else {
                throw config.invalid("head_dim", "head_dim must be a positive even number, found \(explicitHeadDim)")
            }
            headDim = explicitHeadDim
        } else {
            guard embedding % heads == 0, (embedding / heads) % 2 == 0 else {
                throw config.invalid("num_attention_heads", "hidden_size \(embedding) is not an even multiple of \(heads) heads",
                                     hint: "rotary embeddings need an even head dimension; give head_dim")
            }
            headDim = embedding / heads
        }
        var eps: Double?
        for key in ["rms_norm_eps", "norm_eps"] where eps == nil { eps = try config.number(key) }
        guard let eps else {
            throw ConversionError(.missingField, file: config.file, subject: "field 'rms_norm_eps'",
                                  message: "config.json gives no RMS norm epsilon (looked for rms_norm_eps, norm_eps)",
                                  hint: "LLaMA uses 1e-6, Llama 2 1e-5: add the checkpoint's value to config.json")
        }
        guard eps > 0, eps.isFinite else { throw config.invalid("rms_norm_eps", "epsilon must be positive, found \(eps)") }
        guard let vocab = try config.integer("vocab_size") else {
            throw config.missing("vocab_size", hint: "the token embedding's row count is the vocabulary size")
        }
        guard vocab > 0, vocab <= Int(UInt32.max) else {
            throw config.invalid("vocab_size", "vocab_size must be positive, found \(vocab)",
                                 hint: "early LLaMA exports wrote -1; set it to the token embedding's row count")
        }

        // rope_parameters (transformers 5) or rope_scaling (4.x), with rope_theta at the top
        // level or inside them, as TextModel.__init__ merges them.
        let ropeObject = try config.object("rope_parameters") ?? config.object("rope_scaling")
        var theta = try config.number("rope_theta")
        if theta == nil, let ropeObject { theta = try ropeObject.number("rope_theta") }
        if let theta, !(theta > 0 && theta.isFinite) { throw config.invalid("rope_theta", "rope_theta must be positive, found \(theta)") }
        let scaling = try ropeScaling(ropeObject, config: config)

        return LlamaHyperparameters(
            blockCount: blocks, contextLength: context, embeddingLength: embedding, feedForwardLength: ffn,
            headCount: heads, headCountKV: kvHeads, headDimension: headDim,
            headDimensionIsExplicit: explicitHeadDim != nil, rmsNormEpsilon: eps, ropeFreqBase: theta,
            ropeScaling: scaling, vocabSize: vocab,
            tieWordEmbeddings: try config.boolean("tie_word_embeddings") ?? false)
    }

    /// The rope scaling types LlamaModel handles (TextModel.set_gguf_parameters and
    /// LlamaModel.generate_extra_tensors); anything else would change the model's positions
    /// silently, so it is refused.
    private static func ropeScaling(_ rope: JSONObject?, config: JSONObject) throws -> RopeScaling {
        guard let rope else { return .none }
        guard let type = try rope.string("rope_type") ?? rope.string("type") else { return .none }
        let factor = try rope.number("factor")
        switch type.lowercased() {
        case "default":
            return .none
        case "linear":
            guard let factor else { return .none }
            return .linear(factor: factor)
        case "yarn":
            guard let factor else { return .none }
            guard let original = try rope.integer("original_max_position_embeddings") else {
                throw rope.missing("original_max_position_embeddings", hint: "YaRN scaling needs the original context length")
            }
            return .yarn(factor: factor, originalContextLength: original)
        case "llama3":
            // LlamaModel.generate_extra_tensors reads original_max_position_embeddings from the
            // top level of config.json (default 8192), not from rope_scaling; so do we.
            return .llama3(
                factor: factor ?? 8, lowFrequencyFactor: try rope.number("low_freq_factor") ?? 1,
                highFrequencyFactor: try rope.number("high_freq_factor") ?? 4,
                originalContextLength: try config.integer("original_max_position_embeddings") ?? 8192)
        default:
            throw ConversionError(
                .invalidField, file: config.file, subject: "field 'rope_scaling'",
                message: "rope scaling type '\(type)' is not supported for Llama",
                hint: "supported: linear, yarn, llama3 (or none)")
        }
    }

    /// n_head / n_head_kv, llama_hparams::n_gqa.
    var groupedQueryFactor: Int { headCount / headCountKV }
}
