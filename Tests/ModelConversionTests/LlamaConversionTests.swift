import LineageTestSupport
import Foundation
import GGUF
import Testing
@testable import ModelConversion

/// A tiny Llama converted to F32 and F16 and checked by gguf-py (every key, name, shape and
/// type) and by llama.cpp (the file loads and computes the same logits as a NumPy forward pass
/// of the Hugging Face weights, which proves the tensor map and the q/k permutation).
@Suite("Llama checkpoints to GGUF")
struct LlamaConversionTests {
    @Test("F32: gguf-py reads the metadata, names, shapes and types we meant")
    func f32Metadata() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TinyLlama()
        let checkpoint = try model.write(to: dir.appendingPathComponent("tiny"))
        let lineage = LineageMetadata(
            name: "Tiny Llama Test", license: "llama2", sourceRepoURL: "https://huggingface.co/lineage/tiny",
            baseModels: [.init(huggingFaceID: "meta-llama/Llama-2-7b-hf")])
        let (url, result) = try Conversion.run(checkpoint, .f32, lineage: lineage)
        #expect(result.tensorCount == 3 + 9 * model.layers)
        #expect(result.typeCounts == ["F32": 3 + 9 * model.layers])

        let summary = try Conversion.summary(url)
        let keys = Conversion.keyValues(summary).map(\.0)
        #expect(Array(keys.prefix(8)) == [
            "general.architecture", "general.type", "general.name", "general.license", "general.source.repo_url",
            "general.base_model.count", "general.base_model.0.name", "general.base_model.0.organization",
        ])
        #expect(Array(keys.suffix(2)) == ["general.quantization_version", "general.file_type"])
        func v(_ key: String) -> Any? { Conversion.value(summary, key) }
        #expect(v("general.architecture") as? String == "llama")
        #expect(v("general.name") as? String == "Tiny Llama Test")
        #expect(v("general.base_model.0.name") as? String == "Llama 2 7b Hf")
        #expect(v("general.base_model.0.organization") as? String == "Meta Llama")
        #expect(v("general.base_model.0.repo_url") as? String == "https://huggingface.co/meta-llama/Llama-2-7b-hf")
        #expect(v("llama.block_count") as? Int == model.layers)
        #expect(v("llama.context_length") as? Int == model.context)
        #expect(v("llama.embedding_length") as? Int == model.hidden)
        #expect(v("llama.feed_forward_length") as? Int == model.feedForward)
        #expect(v("llama.attention.head_count") as? Int == model.heads)
        #expect(v("llama.attention.head_count_kv") as? Int == model.kvHeads)
        #expect(v("llama.rope.dimension_count") as? Int == model.headDim)
        #expect(v("llama.vocab_size") as? Int == model.vocab)
        #expect(v("llama.attention.layer_norm_rms_epsilon") as? Int == Int(Float(1e-5).bitPattern))
        #expect(v("llama.rope.freq_base") as? Int == Int(Float(10000).bitPattern))
        #expect(v("general.file_type") as? Int == 0)
        #expect(v("general.quantization_version") as? Int == 2)
        // Value types llama.cpp checks strictly: counts UINT32 (4), epsilon FLOAT32 (6).
        let types = Dictionary(uniqueKeysWithValues: (summary["kv"] as! [[String: Any]]).map { ($0["key"] as! String, $0["type"] as! Int) })
        #expect(types["llama.block_count"] == 4)
        #expect(types["llama.attention.layer_norm_rms_epsilon"] == 6)
        #expect(types["tokenizer.ggml.bos_token_id"] == 4)

        // Tokenizer: the fixture's 384 pieces padded to the 400-row embedding.
        let tokens = v("tokenizer.ggml.tokens") as! [String]
        #expect(tokens.count == model.vocab)
        #expect(Array(tokens.prefix(5)) == ["<unk>", "<s>", "</s>", "<lineage>", "<0x00>"])
        #expect(tokens[384] == "[PAD384]")
        let tokenTypes = v("tokenizer.ggml.token_type") as! [Int]
        #expect(Array(tokenTypes.prefix(5)) == [2, 3, 3, 1, 6])  // user-defined <lineage> reads as normal
        #expect(tokenTypes[399] == 5)
        let scores = (v("tokenizer.ggml.scores") as! [Int]).map { Float(bitPattern: UInt32($0)) }
        #expect(scores[399] == -10000)
        #expect(v("tokenizer.ggml.model") as? String == "llama")
        #expect(v("tokenizer.ggml.pre") as? String == "default")
        #expect(v("tokenizer.ggml.bos_token_id") as? Int == 1)
        #expect(v("tokenizer.ggml.eos_token_id") as? Int == 2)
        #expect(v("tokenizer.ggml.add_bos_token") as? Bool == true)
        #expect(v("tokenizer.ggml.add_eos_token") as? Bool == false)

        // Tensors in llama.cpp's order, ne innermost first, all F32.
        let tensors = Conversion.tensors(summary)
        #expect(Array(tensors.prefix(5).map { $0["name"] as! String }) == [
            "output.weight", "output_norm.weight", "token_embd.weight", "blk.0.attn_k.weight", "blk.0.attn_norm.weight",
        ])
        #expect(tensors.last?["name"] as? String == "blk.\(model.layers - 1).ffn_up.weight")
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"] as! String, $0) })
        #expect(byName["token_embd.weight"]?["ne"] as? [Int] == [model.hidden, model.vocab])
        #expect(byName["blk.0.attn_k.weight"]?["ne"] as? [Int] == [model.hidden, model.kvHeads * model.headDim])
        #expect(byName["blk.0.ffn_down.weight"]?["ne"] as? [Int] == [model.feedForward, model.hidden])
        #expect(byName["blk.3.ffn_norm.weight"]?["ne"] as? [Int] == [model.hidden])
        #expect(tensors.allSatisfy { $0["type_name"] as? String == "F32" })
        #expect(byName.keys.allSatisfy { !$0.contains("inv_freq") })
    }

    @Test("llama.cpp runs our F32 and F16 files and agrees with a NumPy forward pass", .enabled(if: Conversion.llamaCppAvailable),
          arguments: [QuantizationPreset.f32, .f16])
    func llamaCppLogits(preset: QuantizationPreset) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try TinyLlama(dtype: "F32", shards: 2).write(to: dir.appendingPathComponent("tiny"))
        let (url, _) = try Conversion.run(checkpoint, preset)
        let tokens = [1, 17, 250, 3, 99, 383, 42, 7, 300, 5, 64, 128]
        let result = try TestSupport.runPythonJSON("llama_cpp_check.py", ["logits", url.path, checkpoint.path] + tokens.map(String.init))
        #expect(result["n_vocab"] as? Int == 400)
        #expect(result["finite"] as? Bool == true)
        let diff = result["max_abs_diff"] as! Double
        let scale = result["max_abs_ref"] as! Double
        // F32 differs from the float64 reference only by float32 rounding (a wrong tensor map or
        // q/k order is off by the logits' own size); F16 also rounds weights and activations.
        #expect(diff < (preset == .f32 ? 2e-3 : 0.1) * max(1, scale), "max |Δlogit| \(diff) of \(scale)")
        #expect(result["argmax_llama"] as? [Int] == result["argmax_reference"] as? [Int])
    }

    @Test("attention biases: the query and key biases are permuted like their rows, and llama.cpp agrees",
          .enabled(if: Conversion.llamaCppAvailable))
    func attentionBiases() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TinyLlama(hidden: 128, feedForward: 256, layers: 2, heads: 4, kvHeads: 2, dtype: "F32", attentionBias: true)
        let checkpoint = try model.write(to: dir.appendingPathComponent("bias"))
        let (url, summary) = try Conversion.run(checkpoint, .f32)
        #expect(summary.tensorCount == 3 + 13 * model.layers)
        let tokens = [1, 200, 17, 3, 99, 5]
        let result = try TestSupport.runPythonJSON("llama_cpp_check.py", ["logits", url.path, checkpoint.path] + tokens.map(String.init))
        let diff = result["max_abs_diff"] as! Double, scale = result["max_abs_ref"] as! Double
        #expect(diff < 2e-3 * max(1, scale), "max |Δlogit| \(diff) of \(scale)")
    }
}
