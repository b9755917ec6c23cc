/// The Hugging Face architectures this converter handles, read from config.json's
/// `architectures` (convert_hf_to_gguf.py dispatches on its first entry the same way).
public enum ModelArchitecture: String, Sendable, CaseIterable {
    case llama

    /// `architectures[0]` values that map to each architecture. "LLaMAForCausalLM" is the
    /// spelling of early transformers releases (decapoda-research LLaMA checkpoints).
    var huggingFaceNames: [String] {
        switch self {
        case .llama: return ["LlamaForCausalLM", "LLaMAForCausalLM"]
        }
    }

    /// The model families known to convert with this architecture.
    var families: String {
        switch self {
        case .llama:
            return "LLaMA, Llama 2, Llama 3, Alpaca, Vicuna, OpenLLaMA, TinyLlama, Taiwan Llama, Linly, TAIDE"
        }
    }

    /// The GGUF `general.architecture` value.
    public var ggufName: String { rawValue }

    /// Resolves config.json's `architectures` (or, without it, `model_type`).
    static func resolve(config: JSONObject) throws -> ModelArchitecture {
        var declared: String?
        if let list = try config.array("architectures") {
            guard let first = list.first as? String else {
                throw config.invalid("architectures", "expected a non-empty list of class names")
            }
            declared = first
        }
        if let declared {
            if let found = allCases.first(where: { $0.huggingFaceNames.contains(declared) }) { return found }
        } else if let modelType = try config.string("model_type"), modelType == "llama" {
            return .llama
        }
        let supported = allCases.map { "\($0.huggingFaceNames[0]) (\($0.families))" }.joined(separator: "; ")
        throw ConversionError(
            .unsupportedArchitecture, file: config.file, subject: "field 'architectures'",
            message: "architecture '\(declared ?? (try? config.string("model_type")).flatMap { $0 } ?? "unknown")' is not supported; supported: \(supported)",
            hint: "BLOOM, Falcon, MPT, Phi, GPT-NeoX, StableLM and Baichuan checkpoints are not converted yet")
    }
}
