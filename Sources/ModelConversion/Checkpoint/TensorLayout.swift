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

/// Matches a checkpoint against an architecture's tensor rules: every tensor must be known
/// (or one convert_hf_to_gguf.py drops), have the shape config.json implies and a float dtype,
/// and every required one must be there. Returns the GGUF tensors in llama.cpp's order.
enum TensorLayout {
    /// Tensors convert_hf_to_gguf.py drops for every architecture (ModelBase.prepare_tensors).
    static func isIgnored(_ name: String) -> Bool {
        name.hasSuffix(".rotary_emb.inv_freq") || name.hasSuffix(".attention.masked_bias") || name.hasSuffix(".attention.bias")
    }

    static func layout(
        checkpoint: SafetensorsCheckpoint, description d: ArchitectureDescription, configFile: String
    ) throws -> [LayoutTensor] {
        var tensors: [LayoutTensor] = []
        var present = Set<String>()
        for name in checkpoint.tensorNames {
            if isIgnored(name) || d.ignored(name) { continue }
            guard let (file, info) = checkpoint.locate(name) else { continue }
            let key = d.normalize(name)
            present.insert(key)
            guard let rule = d.tensors[key] else {
                var hint = "lineage maps the tensors of \(d.architecture.huggingFaceNames[0]) checkpoints only"
                if key.hasPrefix(d.layerPrefix),
                   let n = Int(key.dropFirst(d.layerPrefix.count).prefix { $0.isNumber }), n >= d.hyperparameters.blockCount {
                    hint = "config.json says \(d.layerCountKey) is \(d.hyperparameters.blockCount); the weights and the config disagree"
                } else if let specific = d.unexpectedTensorHint(key) {
                    hint = specific
                }
                throw ConversionError(.unexpectedTensor, file: file.url.path, subject: "tensor '\(name)'",
                                      message: "no \(d.displayName) GGUF tensor corresponds to this tensor", hint: hint)
            }
            if key == d.tokenEmbedding, info.shape.count == 2, info.shape[0] != d.hyperparameters.vocabSize {
                throw ConversionError(
                    .vocabularyMismatch, file: file.url.path, subject: "tensor '\(name)'",
                    message: "the embedding has \(info.shape[0]) rows but config.json's vocab_size is \(d.hyperparameters.vocabSize)",
                    hint: "llama.cpp needs one token per embedding row; fix vocab_size in config.json or use the matching weights")
            }
            guard info.shape == rule.shape else {
                throw ConversionError(
                    .shapeMismatch, file: file.url.path, subject: "tensor '\(name)'",
                    message: "shape \(info.shape) disagrees with \(configFile), which needs \(rule.shape) (\(d.shapeSummary))",
                    hint: "the weights and config.json belong to different models, or the file is corrupt")
            }
            guard info.dtype.isConvertibleToFloat else {
                throw ConversionError(
                    .unsupportedDType, file: file.url.path, subject: "tensor '\(name)'",
                    message: "dtype \(info.dtype.rawValue) cannot be converted; F32, F16, BF16 and F64 can",
                    hint: "pre-quantized checkpoints (GPTQ, AWQ, FP8) must be dequantized first")
            }
            for output in rule.outputs {
                tensors.append(LayoutTensor(name: output.gguf, dimensions: output.shape.reversed().map { UInt64($0) },
                                            source: .checkpoint(name: name, rows: output.rows)))
            }
        }
        for (name, rule) in d.tensors.sorted(by: { $0.key < $1.key }) where rule.required && !present.contains(name) {
            throw ConversionError(
                .missingTensor, file: checkpoint.files.first?.url.deletingLastPathComponent().path, subject: "tensor '\(name)'",
                message: "the checkpoint has no \(name) (GGUF \(rule.outputs.map(\.gguf).joined(separator: ", "))), which a \(d.hyperparameters.blockCount)-layer \(d.displayName) needs",
                hint: "download every shard of the checkpoint")
        }
        return LlamaTensorOrder.sorted(tensors + d.computedTensors)
    }
}

/// llama.cpp's weight order (llama_model_loader::weight_name_comparer): tensors outside the
/// blocks first, then block by block (numerically), by name within each. llama-quantize writes
/// tensors in this order, so we write ours in it too. (The name predates the other
/// architectures; the order is the loader's for all of them.)
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
