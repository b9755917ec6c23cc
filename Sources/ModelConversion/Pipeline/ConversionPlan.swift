import Foundation
import GGUF
import WeightFormats

/// One tensor of the GGUF to write, with its final type.
public struct PlannedTensor: Sendable {
    public let name: String
    /// ggml `ne`, innermost first.
    public let dimensions: [UInt64]
    public let type: GGMLType
    /// The checkpoint tensor it comes from (nil for computed tensors).
    public let sourceName: String?
    /// Bytes read from the checkpoint.
    public let inputBytes: Int
    let source: LayoutTensor.Source

    public var rowLength: Int { Int(dimensions.first ?? 1) }
    public var elementCount: Int { Int(dimensions.reduce(1, *)) }
    public var rowCount: Int { elementCount / max(1, rowLength) }
    public var outputBytes: Int { rowCount * (type.rowSize(elements: rowLength) ?? 0) }
}

/// Everything a conversion will write, worked out and validated before a byte is written:
/// hyperparameters, vocabulary, metadata keys in order, and every tensor with its type.
public struct ConversionPlan: Sendable {
    public let directory: URL
    public let architecture: ModelArchitecture
    /// The transformer's shape. For architectures other than Llama only the counts and sizes
    /// are meaningful (the epsilon is the LayerNorm one; rope fields are unset).
    public let hyperparameters: LlamaHyperparameters
    public let vocabulary: TokenizerVocabulary
    public let preset: QuantizationPreset
    public let keyValues: [(key: String, value: GGUFValue)]
    public let tensors: [PlannedTensor]
    /// Tensors whose row length forced llama.cpp's fallback type, and ignored tokenizer entries.
    public let warnings: [String]
    let checkpoint: SafetensorsCheckpoint

    public var inputBytes: Int { tensors.reduce(0) { $0 + $1.inputBytes } }
    public var outputBytes: Int { tensors.reduce(0) { $0 + $1.outputBytes } }
}

public enum ModelConverter {
    /// Names the converter in the records of what it made (quantize on ingest): raise it
    /// whenever the bytes written for the same input and preset change, so stored
    /// quantizations are made again rather than reused.
    public static let version = "lineage-convert 1"

    /// Reads config.json, the tokenizer and the safetensors headers of `directory` and decides
    /// every tensor's type for `options.preset`. Nothing is written.
    public static func plan(directory: URL, options: ConversionOptions) throws -> ConversionPlan {
        let configURL = directory.appendingPathComponent("config.json")
        guard let config = try JSONObject.load(configURL) else {
            throw ConversionError(.missingFile, file: directory.path, message: "there is no config.json in this directory",
                                  hint: "point at a Hugging Face checkpoint directory (config.json, tokenizer, *.safetensors)")
        }
        let architecture = try ModelArchitecture.resolve(config: config)
        let description = try architecture.describe(config: config)
        let h = description.hyperparameters
        try refusePickles(in: directory)
        let checkpoint = try SafetensorsCheckpoint.open(directory: directory)
        let layout = try TensorLayout.layout(checkpoint: checkpoint, description: description, configFile: configURL.path)
        let vocabulary = try loadVocabulary(directory: directory, description: description, options: options)

        var selector = TensorTypeSelector(
            preset: options.preset, tensorNames: layout.map(\.name), layerCount: h.blockCount,
            headCount: h.headCount, headCountKV: h.headCountKV, rules: description.quantizationRules,
            allowF16Fallback: options.allowF16Fallback)
        var tensors: [PlannedTensor] = []
        for tensor in layout {
            let type: GGMLType
            do {
                type = try selector.nextType(name: tensor.name, dimensions: tensor.dimensions)
            } catch {
                var file: String?
                var subject = "tensor '\(tensor.name)'"
                if case .checkpoint(let name, _) = tensor.source, let (f, _) = checkpoint.locate(name) {
                    file = f.url.path
                    subject = "tensor '\(name)' (GGUF \(tensor.name))"
                }
                let tried = error.fallback == error.type
                    ? "\(error.type)'s block size \(error.type.blockSize)"
                    : "\(error.type)'s block size \(error.type.blockSize) nor of \(error.fallback)'s \(error.fallback.blockSize)"
                throw ConversionError(
                    .rowNotBlockMultiple, file: file, subject: subject,
                    message: "row length \(error.rowLength) is not a multiple of \(tried), so no quantized type of \(options.preset) fits it",
                    hint: "llama.cpp would silently store such tensors as F16; convert with F16, BF16 or F32, or allow that fallback explicitly (--allow-f16-fallback)")
            }
            var sourceName: String?
            var inputBytes: Int
            switch tensor.source {
            case .checkpoint(let name, _):
                sourceName = name
                // A part of a split tensor (Baichuan's W_pack) reads its share of the bytes.
                let info = checkpoint.locate(name)?.tensor
                inputBytes = info.map { $0.byteCount / max(1, $0.elementCount) * tensor.dimensions.reduce(1) { $0 * Int($1) } } ?? 0
            case .values(let values):
                inputBytes = values.count * 4
            }
            tensors.append(PlannedTensor(name: tensor.name, dimensions: tensor.dimensions, type: type,
                                         sourceName: sourceName, inputBytes: inputBytes, source: tensor.source))
        }
        var warnings = vocabulary.warnings
        for f in selector.fallbacks {
            warnings.append("\(f.name): row length \(f.rowLength) is not a multiple of \(f.from)'s block size \(f.from.blockSize); using \(f.to) as llama.cpp does")
        }

        let lineage = options.lineage ?? LineageMetadata(name: directory.lastPathComponent)
        var kv: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(architecture.ggufName)),
            ("general.type", .string("model")),
        ]
        kv += lineage.keyValues
        kv += description.keys
        // gguf-py's GGUFWriter.add_key_value overwrites a key written twice and keeps its first
        // position: Phi's add_bos_token (false, from set_gguf_parameters) takes SpecialVocab's
        // value when the tokenizer states one.
        for entry in vocabulary.keyValues {
            if let i = kv.firstIndex(where: { $0.key == entry.key }) { kv[i].value = entry.value } else { kv.append(entry) }
        }
        // llama-quantize removes and re-appends these two, so they come last in its files; ours
        // put them last too so the key order matches.
        kv.append(("general.quantization_version", .uint32(2)))
        kv.append(("general.file_type", .uint32(options.preset.fileType)))

        return ConversionPlan(
            directory: directory, architecture: architecture, hyperparameters: h, vocabulary: vocabulary,
            preset: options.preset, keyValues: kv, tensors: tensors, warnings: warnings, checkpoint: checkpoint)
    }

    /// A checkpoint with only PyTorch pickles (pytorch_model*.bin, consolidated.*.pth) gets
    /// told so: llama.cpp's converter loads them with torch, but unpickling runs code from the
    /// file, so lineage reads safetensors only.
    static func refusePickles(in directory: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        guard !names.contains(where: { $0.hasSuffix(".safetensors") || $0 == SafetensorsCheckpoint.indexFileName }) else { return }
        if let pickle = names.sorted().first(where: { ($0.hasPrefix("pytorch_model") && $0.hasSuffix(".bin")) || $0.hasSuffix(".pth") }) {
            throw ConversionError(
                .missingFile, file: directory.appendingPathComponent(pickle).path,
                message: "the weights are a PyTorch pickle; lineage reads safetensors only (unpickling can run code from the file)",
                hint: "convert the checkpoint to safetensors first, e.g. with transformers' save_pretrained(safe_serialization=True)")
        }
    }

    /// The model class's set_vocab: SentencePiece from tokenizer.model (LlamaModel prefers it when
    /// present), BPE from tokenizer.json.
    static func loadVocabulary(directory: URL, description d: ArchitectureDescription, options: ConversionOptions) throws -> TokenizerVocabulary {
        var vocabulary: TokenizerVocabulary
        let hasSentencePiece = FileManager.default.fileExists(atPath: directory.appendingPathComponent("tokenizer.model").path)
        let config = directory.appendingPathComponent("config.json").path
        switch d.tokenizer {
        // A SentencePiece-only architecture must have tokenizer.model; one that takes either
        // uses it when it is there.
        case .sentencePieceOrBPE where hasSentencePiece, .sentencePiece:
            if !hasSentencePiece {
                throw ConversionError(.missingFile, file: directory.path,
                                      message: "a \(d.displayName) checkpoint needs its SentencePiece tokenizer.model, and there is none",
                                      hint: "download tokenizer.model with the weights")
            }
            vocabulary = try SentencePieceVocabularyLoader.load(directory: directory, vocabularySize: d.hyperparameters.vocabSize, configFile: config)
        default:
            vocabulary = try BPEVocabularyLoader.load(
                directory: directory, vocabularySize: d.hyperparameters.vocabSize, preTokenizer: options.tokenizerPre,
                byteLevelName: d.byteLevelPreTokenizer)
        }
        // LlamaModel.set_vocab alone copies add_prefix_space.
        if d.architecture == .llama, let config = try JSONObject.load(directory.appendingPathComponent("tokenizer_config.json")) {
            vocabulary.addSpacePrefix = try config.boolean("add_prefix_space")
        }
        return vocabulary
    }
}
