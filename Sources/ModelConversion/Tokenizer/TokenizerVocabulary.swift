import GGUF

/// Everything llama.cpp needs to tokenize: the token list with types (and scores for
/// SentencePiece), BPE merges, the special token ids and flags, and the chat template.
/// `keyValues` gives the `tokenizer.*` GGUF keys in the order convert_hf_to_gguf.py writes them.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// `tokenizer.ggml.model`: "llama" for SentencePiece, "gpt2" for byte-level BPE.
    public enum Model: String, Sendable {
        case llama
        case gpt2
    }

    /// llama.cpp's llama_token_type (gguf-py TokenType), stored as INT32.
    public enum TokenType: Int32, Sendable {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    public var model: Model
    /// `tokenizer.ggml.pre`: the pre-tokenizer llama.cpp must apply.
    public var pre: String
    public var tokens: [String]
    /// SentencePiece scores (nil for BPE vocabularies, which have none).
    public var scores: [Float]?
    public var types: [TokenType]
    /// BPE merges, "left right" (empty for SentencePiece).
    public var merges: [String]
    public var special: SpecialTokens
    /// `tokenizer.ggml.add_space_prefix`, from tokenizer_config.json's `add_prefix_space`.
    public var addSpacePrefix: Bool?
    /// Things the converter ignored, as llama.cpp's converter does, but a user should know.
    public var warnings: [String] = []

    public var count: Int { tokens.count }

    public var keyValues: [(key: String, value: GGUFValue)] {
        var kv: [(key: String, value: GGUFValue)] = []
        if let addSpacePrefix { kv.append(("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix))) }
        kv.append(("tokenizer.ggml.model", .string(model.rawValue)))
        kv.append(("tokenizer.ggml.pre", .string(pre)))
        kv.append(("tokenizer.ggml.tokens", .stringArray(tokens)))
        if let scores { kv.append(("tokenizer.ggml.scores", .float32Array(scores))) }
        kv.append(("tokenizer.ggml.token_type", .int32Array(types.map(\.rawValue))))
        if !merges.isEmpty { kv.append(("tokenizer.ggml.merges", .stringArray(merges))) }
        kv += special.keyValues
        return kv
    }
}
