import LineageTestSupport
import Foundation
import GGUF
import Testing
@testable import ModelConversion

/// BLOOM, Falcon (7B- and 40B-style), GPT-NeoX, StableLM, Phi, MPT and Baichuan: for each, a
/// tiny generated checkpoint converts to a GGUF that gguf-py reads with the keys and tensors
/// convert_hf_to_gguf.py writes, that llama.cpp loads and evaluates, and whose quantized forms
/// are byte-identical to llama.cpp's own quantizer applied to our F32 file.
@Suite("Other architectures to GGUF")
struct ArchitectureConversionTests {
    /// Every architecture variant under test.
    static let models: [TinyArchitecture] = [
        TinyArchitecture(architecture: .bloom),
        TinyArchitecture(architecture: .falcon, kvHeads: 1),
        TinyArchitecture(architecture: .falcon, kvHeads: 2, newDecoderArchitecture: true),
        TinyArchitecture(architecture: .gptNeoX, feedForward: 1024),
        TinyArchitecture(architecture: .stableLM, kvHeads: 2),
        TinyArchitecture(architecture: .phi2),
        TinyArchitecture(architecture: .mpt),
        TinyArchitecture(architecture: .baichuan, vocab: 400),  // the SentencePiece fixture has 384 pieces
    ]

    static func name(_ m: TinyArchitecture) -> String {
        m.architecture.rawValue + (m.newDecoderArchitecture ? "-40b" : "")
    }

    /// Tokens inside every fixture vocabulary (bytes, merges, added tokens).
    static let tokens = [280, 71, 72, 258, 3, 99, 261, 40, 255, 17]

    @Test("gguf-py reads the architecture, keys and tensors convert_hf_to_gguf.py writes", arguments: models)
    func metadata(model: TinyArchitecture) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try model.write(to: dir.appendingPathComponent(Self.name(model)))
        let (url, _) = try Conversion.run(checkpoint, .f32)
        let summary = try Conversion.summary(url)
        func v(_ key: String) -> Any? { Conversion.value(summary, key) }
        let arch = model.architecture.ggufName
        #expect(v("general.architecture") as? String == arch)
        let archKeys = Conversion.keyValues(summary).map(\.0).filter { $0.hasPrefix(arch + ".") }
        let names = Set(Conversion.tensors(summary).map { $0["name"] as! String })
        let e = model.hidden
        let expectedKeys: [String]
        var expectedTensors = ["token_embd.weight", "output_norm.weight"]
        var perBlock = ["attn_norm.weight"]
        switch model.architecture {
        case .bloom:
            expectedKeys = ["context_length", "embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                            "attention.head_count_kv", "attention.layer_norm_epsilon"]
            expectedTensors += ["token_embd_norm.weight", "token_embd_norm.bias", "output_norm.bias"]
            perBlock += ["attn_norm.bias", "attn_qkv.weight", "attn_qkv.bias", "attn_output.weight", "attn_output.bias",
                         "ffn_norm.weight", "ffn_norm.bias", "ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias"]
            #expect(v("bloom.context_length") as? Int == e)  // BloomModel: seq_length, else n_embed
            #expect(v("bloom.feed_forward_length") as? Int == 4 * e)
            #expect(v("tokenizer.ggml.pre") as? String == "bloom")
        case .falcon:
            expectedKeys = ["context_length", "tensor_data_layout", "embedding_length", "feed_forward_length", "block_count",
                            "attention.head_count", "attention.head_count_kv", "attention.layer_norm_epsilon"]
            expectedTensors += ["output_norm.bias", "output.weight"]
            perBlock += ["attn_norm.bias", "attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight"]
            if model.newDecoderArchitecture { perBlock += ["attn_norm_2.weight", "attn_norm_2.bias"] }
            #expect(v("falcon.context_length") as? Int == 2048)
            #expect(v("falcon.tensor_data_layout") as? String == "jploski")
            #expect(v("falcon.attention.head_count_kv") as? Int == model.kvHeads)
            #expect(v("tokenizer.ggml.pre") as? String == "falcon")
        case .gptNeoX:
            expectedKeys = ["context_length", "embedding_length", "block_count", "feed_forward_length", "rope.dimension_count",
                            "attention.head_count", "use_parallel_residual", "attention.layer_norm_epsilon"]
            expectedTensors += ["output_norm.bias", "output.weight"]
            perBlock += ["attn_norm.bias", "attn_qkv.weight", "attn_qkv.bias", "attn_output.weight", "attn_output.bias",
                         "ffn_norm.weight", "ffn_norm.bias", "ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias"]
            #expect(v("gptneox.rope.dimension_count") as? Int == model.headDim / 2)
            #expect(v("gptneox.use_parallel_residual") as? Bool == true)
            #expect(v("tokenizer.ggml.pre") as? String == "olmo")
        case .stableLM:
            expectedKeys = ["context_length", "embedding_length", "block_count", "feed_forward_length", "rope.dimension_count",
                            "attention.head_count", "attention.head_count_kv", "use_parallel_residual", "attention.layer_norm_epsilon"]
            expectedTensors += ["output_norm.bias", "output.weight"]
            perBlock += ["attn_norm.bias", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight",
                         "attn_v.bias", "attn_output.weight", "ffn_norm.weight", "ffn_norm.bias", "ffn_gate.weight",
                         "ffn_up.weight", "ffn_down.weight"]
            #expect(v("stablelm.use_parallel_residual") as? Bool == false)
            #expect(v("tokenizer.ggml.pre") as? String == "olmo")
        case .phi2:
            expectedKeys = ["context_length", "embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                            "attention.head_count_kv", "attention.layer_norm_epsilon", "rope.dimension_count"]
            expectedTensors += ["output_norm.bias", "output.weight", "output.bias"]
            perBlock += ["attn_norm.bias", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight",
                         "attn_v.bias", "attn_output.weight", "attn_output.bias", "ffn_up.weight", "ffn_up.bias",
                         "ffn_down.weight", "ffn_down.bias"]
            #expect(v("phi2.rope.dimension_count") as? Int == Int(model.rotaryFraction * Double(e)) / model.heads)
            // Phi2Model writes add_bos_token false among its hyperparameters; SpecialVocab then
            // sets it again from the tokenizer's post-processor (true here), and gguf-py keeps the
            // first position with the last value.
            let keys = Conversion.keyValues(summary).map(\.0)
            #expect(keys.filter { $0 == "tokenizer.ggml.add_bos_token" }.count == 1)
            #expect(keys.firstIndex(of: "tokenizer.ggml.add_bos_token")! < keys.firstIndex(of: "tokenizer.ggml.model")!)
            #expect(v("tokenizer.ggml.add_bos_token") as? Bool == true)
            #expect(v("tokenizer.ggml.pre") as? String == "phi-2")
        case .mpt:
            expectedKeys = ["context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
                            "attention.layer_norm_epsilon", "attention.max_alibi_bias"]
            perBlock += ["attn_qkv.weight", "attn_output.weight", "ffn_norm.weight", "ffn_up.weight", "ffn_down.weight"]
            #expect(v("mpt.attention.max_alibi_bias") as? Int == Int(Float(8).bitPattern))
            #expect(v("tokenizer.ggml.pre") as? String == "olmo")
        case .baichuan:
            expectedKeys = ["block_count", "context_length", "embedding_length", "feed_forward_length", "attention.head_count",
                            "attention.layer_norm_rms_epsilon", "tensor_data_layout", "rope.dimension_count"]
            expectedTensors += ["output.weight"]
            perBlock += ["attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "ffn_norm.weight",
                         "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"]
            #expect(v("tokenizer.ggml.model") as? String == "llama")
        case .llama:
            expectedKeys = []
        }
        #expect(archKeys == expectedKeys.map { arch + "." + $0 })
        for i in 0..<model.layers { expectedTensors += perBlock.map { "blk.\(i).\($0)" } }
        #expect(names == Set(expectedTensors), "extra \(names.subtracting(expectedTensors)), missing \(Set(expectedTensors).subtracting(names))")
        #expect((v("tokenizer.ggml.tokens") as? [String])?.count == model.vocab)
    }

    @Test("llama.cpp loads our F32 and F16 files and evaluates tokens", .enabled(if: Conversion.llamaCppAvailable),
          arguments: models)
    func llamaCppRuns(model: TinyArchitecture) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try model.write(to: dir.appendingPathComponent(Self.name(model)))
        for preset in [QuantizationPreset.f32, .f16] {
            let (url, _) = try Conversion.run(checkpoint, preset)
            let result = try TestSupport.runPythonJSON("llama_cpp_check.py", ["run", url.path] + Self.tokens.map(String.init))
            #expect(result["architecture"] as? String == model.architecture.ggufName)
            #expect(result["n_vocab"] as? Int == model.vocab)
            #expect(result["finite"] as? Bool == true, "\(preset): \(result)")
            #expect((result["max_abs"] as? Double ?? 0) > 0)
        }
    }

    @Test("Q8_0, Q4_K_M, Q6_K (and Q3_K_L for Falcon's rules) byte-identical to llama_model_quantize",
          .enabled(if: Conversion.llamaCppAvailable), arguments: models)
    func quantizedIdentical(model: TinyArchitecture) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = model
        model.dtype = "BF16"
        model.layers = model.architecture == .falcon ? 16 : 2  // Falcon's ffn_down rules depend on n_layer/16
        let checkpoint = try model.write(to: dir.appendingPathComponent(Self.name(model)))
        let (f32, _) = try Conversion.run(checkpoint, .f32, to: dir.appendingPathComponent("f32.gguf"))
        var presets: [QuantizationPreset] = [.q8_0, .q4_K_M, .q6_K]
        if model.architecture == .falcon { presets += [.q3_K_M, .q3_K_L, .q4_K_S, .q2_K] }
        try QuantizationIdentityTests.expectIdentical(checkpoint: checkpoint, f32: f32, presets: presets, in: dir)
    }
}

extension TinyArchitecture: CustomTestStringConvertible {
    var testDescription: String { ArchitectureConversionTests.name(self) + (layers >= 32 ? "-\(layers)" : "") }
}

extension ArchitectureConversionTests {
    /// Baichuan gets rope only as a 32-layer model and ALiBi only as a 40-layer one (llama.cpp
    /// infers 7B/13B from the layer count; any other depth runs without positions), so those are
    /// the sizes its forward pass is checked at.
    static let referenceModels: [TinyArchitecture] = models.filter { $0.architecture != .baichuan }.map { m in
        var m = m
        m.hidden = 128
        m.feedForward = 256
        if m.architecture == .gptNeoX { m.feedForward = 512 }
        return m
    } + [
        TinyArchitecture(architecture: .baichuan, hidden: 64, layers: 32, feedForward: 128, vocab: 400),
        TinyArchitecture(architecture: .baichuan, hidden: 64, layers: 40, feedForward: 128, vocab: 400),
    ]

    @Test("llama.cpp computes the logits of a NumPy forward pass of the Hugging Face weights",
          .enabled(if: Conversion.llamaCppAvailable), arguments: referenceModels)
    func forwardPass(model: TinyArchitecture) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try model.write(to: dir.appendingPathComponent(Self.name(model)))
        let (url, _) = try Conversion.run(checkpoint, .f32)
        let result = try TestSupport.runPythonJSON("arch_reference.py", [url.path, checkpoint.path] + Self.tokens.map(String.init))
        let diff = result["max_abs_diff"] as! Double, scale = result["max_abs_ref"] as! Double
        // float32 rounding only; a wrong tensor map, head order or rope layout is off by the
        // logits' own size.
        #expect(diff < 2e-3 * max(1, scale), "max |Δlogit| \(diff) of \(scale)")
        #expect(result["argmax_llama"] as? [Int] == result["argmax_reference"] as? [Int])
    }
}

extension ArchitectureConversionTests {
    @Test("BLOOM tensors saved without the transformer. prefix (BloomModel, bigscience/bloom-560m) convert to the same bytes")
    func bloomWithoutPrefix() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TinyArchitecture(architecture: .bloom, hidden: 128)
        let prefixed = try model.write(to: dir.appendingPathComponent("prefixed"))
        let bare = try model.write(to: dir.appendingPathComponent("bare"))
        var writer = SafetensorsWriter()
        for (name, shape, values) in model.tensors() {
            writer.add(String(name.dropFirst(name.hasPrefix("transformer.") ? "transformer.".count : 0)), dtype: model.dtype,
                       shape: shape, values: values)
        }
        try writer.write(to: bare.appendingPathComponent("model.safetensors"))
        let lineage = LineageMetadata(name: "tiny bloom")
        let (a, _) = try Conversion.run(prefixed, .q8_0, lineage: lineage)
        let (b, _) = try Conversion.run(bare, .q8_0, lineage: lineage)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
    }

    @Test("configs llama.cpp cannot run, and weights that disagree with config.json, are refused naming the field or tensor")
    func refusals() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func expect(_ model: TinyArchitecture, config: [String: Any] = [:], _ fragments: [String],
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
            let checkpoint = try model.write(to: dir.appendingPathComponent(UUID().uuidString))
            if !config.isEmpty {
                var c = model.config
                for (k, v) in config { c[k] = v }
                try JSONSerialization.data(withJSONObject: c).write(to: checkpoint.appendingPathComponent("config.json"))
            }
            try BadInputTests.expectFailure(checkpoint, mentions: fragments, sourceLocation: sourceLocation)
        }
        try expect(TinyArchitecture(architecture: .falcon, hidden: 64), config: ["alibi": true],
                   ["config.json", "field 'alibi'", "Falcon with ALiBi positions (Falcon-RW) is not supported"])
        try expect(TinyArchitecture(architecture: .phi2, hidden: 64), config: ["intermediate_size": 100],
                   ["field 'intermediate_size'", "intermediate_size 100 is not 4 x hidden_size (256)"])
        try expect(TinyArchitecture(architecture: .stableLM, hidden: 64, kvHeads: 2), config: ["qk_layernorm": true],
                   ["field 'qk_layernorm'", "not converted yet"])
        try expect(TinyArchitecture(architecture: .mpt, hidden: 64), config: ["attn_config": ["alibi_bias_max": 8]],
                   ["field 'attn_config.alibi'", "required field is missing"])
        try expect(TinyArchitecture(architecture: .gptNeoX, hidden: 64, feedForward: 256), config: ["rotary_pct": NSNull()],
                   ["field 'rotary_pct'", "config.json gives no rotary fraction"])
        // Falcon 7B-style weights under a 40B-style config.
        try expect(TinyArchitecture(architecture: .falcon, hidden: 64), config: ["new_decoder_architecture": true, "num_kv_heads": 1],
                   ["tensor 'transformer.h.0.input_layernorm.weight'", "no Falcon GGUF tensor corresponds",
                    "one input_layernorm per block is the 7B layout, but config.json says new_decoder_architecture"])
        try expect(TinyArchitecture(architecture: .falcon, hidden: 64), config: ["num_kv_heads": 2],
                   ["tensor 'transformer.h.0.self_attention.query_key_value.weight'", "shape [96, 64] disagrees with",
                    "which needs [128, 64]", "4 heads, 2 key/value heads of 16"])
        try expect(TinyArchitecture(architecture: .bloom, hidden: 64), config: ["n_layer": 1],
                   ["tensor 'transformer.h.1.", "config.json says n_layer is 1"])
        try expect(TinyArchitecture(architecture: .baichuan, hidden: 64, vocab: 400), config: ["num_key_value_heads": 2],
                   ["field 'num_key_value_heads'", "cannot be split from it"])
    }
}

extension ArchitectureConversionTests {
    @Test("pre-tokenizer names from tokenizer.json definitions, the plain byte-level one named per family")
    func preTokenizerNames() throws {
        func name(_ definition: [String: Any], byteLevel: String = "gpt-2") throws -> String {
            try BPEVocabularyLoader.preTokenizerName(JSONObject(file: "tokenizer.json", fields: ["pre_tokenizer": definition]),
                                                     byteLevelName: byteLevel)
        }
        func split(_ pattern: String) -> [String: Any] {
            ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
            ]]
        }
        #expect(try name(TinyArchitecture.bloomPreTokenizer) == "bloom")
        #expect(try name(TinyArchitecture.falconPreTokenizer) == "falcon")
        #expect(try name(split(BPEVocabularyLoader.stableLM2Pattern)) == "stablelm2")
        #expect(try name(split(BPEVocabularyLoader.llama3Pattern)) == "llama-bpe")
        #expect(try name(TinyArchitecture.byteLevel) == "gpt-2")
        #expect(try name(TinyArchitecture.byteLevel, byteLevel: "olmo") == "olmo")
        // Falcon's sequence with individual digits is a different splitter.
        var digits = TinyArchitecture.falconPreTokenizer
        var steps = digits["pretokenizers"] as! [[String: Any]]
        steps[2]["individual_digits"] = true
        digits["pretokenizers"] = steps
        #expect(throws: ConversionError.self) { try name(digits) }
        // For each family, the name convert_hf_to_gguf.py's hash table gives its canonical vocabulary.
        let byteLevelNames = try [ModelArchitecture.llama, .gptNeoX, .stableLM, .phi2, .mpt].map { arch -> String in
            var m = TinyArchitecture(architecture: arch == .llama ? .gptNeoX : arch)
            m.hidden = 64
            let config = JSONObject(file: "config.json", fields: arch == .llama ? TinyLlama().config : m.config)
            return try arch.describe(config: config).byteLevelPreTokenizer
        }
        #expect(byteLevelNames == ["gpt-2", "olmo", "olmo", "phi-2", "olmo"])
    }
}
