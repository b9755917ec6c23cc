/// The Hugging Face architectures this converter handles, read from config.json's
/// `architectures` (convert_hf_to_gguf.py dispatches on its first entry the same way). The raw
/// value is llama.cpp's architecture name (`general.architecture`).
public enum ModelArchitecture: String, Sendable, CaseIterable {
    case llama
    case bloom
    case falcon
    case gptNeoX = "gptneox"
    case stableLM = "stablelm"
    case phi2
    case mpt
    case baichuan

    /// `architectures[0]` values that map to each architecture (ModelBase.register in
    /// convert_hf_to_gguf.py). "LLaMAForCausalLM" is the spelling of early transformers
    /// releases (decapoda-research LLaMA checkpoints); "RWForCausalLM" is Falcon's remote-code
    /// class, "StableLMEpochForCausalLM" StableLM 3B 4E1T's.
    var huggingFaceNames: [String] {
        switch self {
        case .llama: return ["LlamaForCausalLM", "LLaMAForCausalLM"]
        case .bloom: return ["BloomForCausalLM", "BloomModel"]
        case .falcon: return ["FalconForCausalLM", "RWForCausalLM"]
        case .gptNeoX: return ["GPTNeoXForCausalLM"]
        case .stableLM: return ["StableLmForCausalLM", "StableLMEpochForCausalLM"]
        case .phi2: return ["PhiForCausalLM"]
        case .mpt: return ["MPTForCausalLM"]
        case .baichuan: return ["BaichuanForCausalLM", "BaiChuanForCausalLM"]
        }
    }

    /// config.json `model_type` values, for configs without `architectures`.
    var modelTypes: [String] {
        switch self {
        case .llama: return ["llama"]
        case .bloom: return ["bloom"]
        case .falcon: return ["falcon", "RefinedWeb", "RefinedWebModel"]
        case .gptNeoX: return ["gpt_neox"]
        case .stableLM: return ["stablelm", "stablelm_epoch"]
        case .phi2: return ["phi"]
        case .mpt: return ["mpt"]
        case .baichuan: return ["baichuan"]
        }
    }

    /// The model families known to convert with this architecture.
    var families: String {
        switch self {
        case .llama:
            return "LLaMA, Llama 2, Llama 3, Alpaca, Vicuna, OpenLLaMA, TinyLlama, Taiwan Llama, Linly, TAIDE"
        case .bloom: return "BLOOM, BLOOMZ, FFM"
        case .falcon: return "Falcon 7B/40B/180B"
        case .gptNeoX: return "GPT-NeoX, Pythia"
        case .stableLM: return "StableLM, StableLM 2"
        case .phi2: return "Phi-1, Phi-1.5, Phi-2"
        case .mpt: return "MPT"
        case .baichuan: return "Baichuan, Baichuan 2"
        }
    }

    /// How messages name the architecture.
    var displayName: String {
        switch self {
        case .llama: return "Llama"
        case .bloom: return "BLOOM"
        case .falcon: return "Falcon"
        case .gptNeoX: return "GPT-NeoX"
        case .stableLM: return "StableLM"
        case .phi2: return "Phi"
        case .mpt: return "MPT"
        case .baichuan: return "Baichuan"
        }
    }

    /// The GGUF `general.architecture` value.
    public var ggufName: String { rawValue }

    /// Reads this architecture's hyperparameters and tensor map from config.json.
    func describe(config: JSONObject) throws -> ArchitectureDescription {
        switch self {
        case .llama: return try .llama(config: config)
        case .bloom: return try .bloom(config: config)
        case .falcon: return try .falcon(config: config)
        case .gptNeoX: return try .gptNeoX(config: config)
        case .stableLM: return try .stableLM(config: config)
        case .phi2: return try .phi(config: config)
        case .mpt: return try .mpt(config: config)
        case .baichuan: return try .baichuan(config: config)
        }
    }

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
        } else if let modelType = try config.string("model_type"),
                  let found = allCases.first(where: { $0.modelTypes.contains(modelType) }) {
            return found
        }
        let supported = allCases.map { "\($0.huggingFaceNames[0]) (\($0.families))" }.joined(separator: "; ")
        throw ConversionError(
            .unsupportedArchitecture, file: config.file, subject: "field 'architectures'",
            message: "architecture '\(declared ?? (try? config.string("model_type")).flatMap { $0 } ?? "unknown")' is not supported; supported: \(supported)",
            hint: "convert it with llama.cpp's convert_hf_to_gguf.py if llama.cpp runs it")
    }
}
