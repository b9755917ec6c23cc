import LineageTestSupport
import Foundation
import GGUF
import Testing
@testable import ModelConversion

/// The end-to-end proof: llama.cpp's own quantizer (llama_model_quantize, what llama-quantize
/// runs) applied to our F32 conversion writes exactly the bytes of our preset output, made
/// straight from the safetensors. Same metadata, same tensor order, same per-tensor types,
/// same quantized blocks.
@Suite("Presets byte-identical to llama.cpp's quantizer", .enabled(if: Conversion.llamaCppAvailable))
struct QuantizationIdentityTests {
    /// Compares our preset output with llama.cpp's quantization of our F32 file; on a mismatch
    /// names the first tensor (or the metadata) that differs.
    static func expectIdentical(checkpoint: URL, f32: URL, presets: [QuantizationPreset], in dir: URL,
                                allowF16Fallback: Bool = false) throws {
        for preset in presets {
            let (ours, _) = try Conversion.run(checkpoint, preset, to: dir.appendingPathComponent("ours-\(preset).gguf"),
                                               allowF16Fallback: allowF16Fallback)
            let theirs = dir.appendingPathComponent("llama-\(preset).gguf")
            _ = try TestSupport.runPython("llama_cpp_check.py", ["quantize", f32.path, theirs.path, "\(preset.fileType)", "2"])
            let same = try Data(contentsOf: ours) == Data(contentsOf: theirs)
            if !same {
                let a = try Conversion.summary(ours), b = try Conversion.summary(theirs)
                let ta = Conversion.tensors(a), tb = Conversion.tensors(b)
                let firstTensor = zip(ta, tb).first { ($0["name"] as! String) != ($1["name"] as! String) || ($0["sha256"] as! String) != ($1["sha256"] as! String) || ($0["type"] as! Int) != ($1["type"] as! Int) }
                let keysSame = Conversion.keyValues(a).map(\.0) == Conversion.keyValues(b).map(\.0)
                Issue.record("\(preset): files differ; keys \(keysSame ? "same" : "differ"); first different tensor: \(firstTensor.map { "\($0.0["name"]!) ours \($0.0["type_name"]!) llama.cpp \($0.1["type_name"]!)" } ?? "none")")
            }
            try? FileManager.default.removeItem(at: ours)
            try? FileManager.default.removeItem(at: theirs)
        }
    }

    @Test("every preset on a model whose rows are whole super-blocks")
    func allPresets() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try TinyLlama(layers: 8).write(to: dir.appendingPathComponent("tiny"))
        let (f32, _) = try Conversion.run(checkpoint, .f32, to: dir.appendingPathComponent("tiny-F32.gguf"))
        try Self.expectIdentical(checkpoint: checkpoint, f32: f32, presets: QuantizationPreset.allCases.filter { $0 != .f32 }, in: dir)
    }
}

extension QuantizationIdentityTests {
    @Test("rows that are not whole super-blocks fall back as llama.cpp's do (hidden 320, ffn 864, 5 heads on 1 kv head, F16 weights)")
    func fallbacks() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TinyLlama(hidden: 320, feedForward: 864, layers: 4, heads: 5, kvHeads: 1, dtype: "F16", seed: 2)
        let checkpoint = try model.write(to: dir.appendingPathComponent("wide"))
        let (f32, _) = try Conversion.run(checkpoint, .f32, to: dir.appendingPathComponent("wide-F32.gguf"))
        let plan = try ModelConverter.plan(directory: checkpoint, options: ConversionOptions(preset: .q4_K_M))
        let types = Dictionary(uniqueKeysWithValues: plan.tensors.map { ($0.name, $0.type) })
        #expect(types["output.weight"] == .q8_0)
        #expect(types["blk.1.attn_q.weight"] == .q5_0)  // Q4_K -> Q5_0
        #expect(types["blk.0.ffn_down.weight"] == .q5_0)  // Q4_K -> Q5_0
        #expect(types["blk.3.ffn_down.weight"] == .q8_0)  // use_more_bits: Q6_K -> Q8_0
        #expect(plan.warnings.contains { $0.contains("blk.1.attn_q.weight") && $0.contains("Q5_0") })
        try Self.expectIdentical(checkpoint: checkpoint, f32: f32,
                                 presets: [.q8_0, .q4_0, .q2_K, .q3_K_M, .q4_K_S, .q4_K_M, .q5_K_S, .q5_K_M, .q6_K], in: dir)
    }

    @Test("tied embeddings: token_embd is quantized as the output projection")
    func tiedEmbeddings() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try TinyLlama(layers: 4, tiedEmbeddings: true, seed: 3).write(to: dir.appendingPathComponent("tied"))
        let (f32, _) = try Conversion.run(checkpoint, .f32, to: dir.appendingPathComponent("tied-F32.gguf"))
        let plan = try ModelConverter.plan(directory: checkpoint, options: ConversionOptions(preset: .q4_K_M))
        #expect(!plan.tensors.contains { $0.name == "output.weight" })
        #expect(plan.tensors.first { $0.name == "token_embd.weight" }?.type == .q6_K)
        try Self.expectIdentical(checkpoint: checkpoint, f32: f32, presets: [.q4_K_M, .q8_0, .q5_0], in: dir)
    }

    @Test("rows no block size divides: refused naming the tensor, or F16 exactly as llama.cpp when allowed")
    func rowsNoBlockDivides() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try TinyLlama(hidden: 200, feedForward: 400, layers: 2, heads: 4, kvHeads: 2).write(to: dir.appendingPathComponent("odd"))
        let (f32, _) = try Conversion.run(checkpoint, .f32, to: dir.appendingPathComponent("odd-F32.gguf"))
        #expect {
            try Conversion.run(checkpoint, .q4_K_M, to: dir.appendingPathComponent("ours.gguf"))
        } throws: { error in
            "\(error)".contains("(tensor 'lm_head.weight' (GGUF output.weight)): row length 200 is not a multiple of Q8_0's block size 32, so no quantized type of Q4_K_M fits it")
        }
        #expect(!TestSupport.files(in: dir).contains { $0.contains("ours") })
        // llama.cpp writes these tensors as F16; with the fallback allowed, so do we, byte for byte.
        try Self.expectIdentical(checkpoint: checkpoint, f32: f32, presets: [.q4_K_M, .q8_0, .q4_0, .f16], in: dir,
                                 allowF16Fallback: true)
    }
}

/// The per-tensor choices for real model shapes, without the weights.
@Suite("llama.cpp's per-tensor type rules")
struct TensorTypeRuleTests {
    /// Types for a Llama of `layers` blocks in llama.cpp's tensor order.
    static func types(_ preset: QuantizationPreset, layers: Int, hidden: UInt64 = 4096, ffn: UInt64 = 11008,
                      vocab: UInt64 = 32000, heads: Int = 32, kvHeads: Int = 32) throws -> [String: GGMLType] {
        var tensors: [LayoutTensor] = [
            .init(name: "token_embd.weight", dimensions: [hidden, vocab], source: .values([])),
            .init(name: "output.weight", dimensions: [hidden, vocab], source: .values([])),
            .init(name: "output_norm.weight", dimensions: [hidden], source: .values([])),
        ]
        let kv = hidden / UInt64(heads) * UInt64(kvHeads)
        for i in 0..<layers {
            for (name, dims) in [("attn_q", [hidden, hidden]), ("attn_k", [hidden, kv]), ("attn_v", [hidden, kv]),
                                 ("attn_output", [hidden, hidden]), ("ffn_gate", [hidden, ffn]), ("ffn_up", [hidden, ffn]),
                                 ("ffn_down", [ffn, hidden]), ("attn_norm", [hidden]), ("ffn_norm", [hidden])] {
                tensors.append(.init(name: "blk.\(i).\(name).weight", dimensions: dims, source: .values([])))
            }
        }
        let ordered = LlamaTensorOrder.sorted(tensors)
        var selector = TensorTypeSelector(preset: preset, tensorNames: ordered.map(\.name), layerCount: layers,
                                          headCount: heads, headCountKV: kvHeads)
        var out: [String: GGMLType] = [:]
        for t in ordered { out[t.name] = try selector.nextType(name: t.name, dimensions: t.dimensions) }
        return out
    }

    static func histogram(_ types: [String: GGMLType]) -> [String: Int] {
        types.values.reduce(into: [:]) { $0["\($1)", default: 0] += 1 }
    }

    @Test("Llama-2-7B Q4_K_M: 65 F32, 193 Q4_K, 33 Q6_K")
    func llama2Q4KM() throws {
        let types = try Self.types(.q4_K_M, layers: 32)
        #expect(Self.histogram(types) == ["F32": 65, "Q4_K": 193, "Q6_K": 33])
        // use_more_bits: layers below 4, from 28, and every third from 6.
        let promoted = (0..<32).filter { types["blk.\($0).attn_v.weight"] == .q6_K }
        #expect(promoted == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
        #expect(promoted == (0..<32).filter { types["blk.\($0).ffn_down.weight"] == .q6_K })
        #expect(types["output.weight"] == .q6_K && types["token_embd.weight"] == .q4_K)
    }

    @Test("the other K-quant mixes on Llama-2-7B")
    func otherMixes() throws {
        #expect(Self.histogram(try Self.types(.q4_K_S, layers: 32)) == ["F32": 65, "Q4_K": 217, "Q5_K": 8, "Q6_K": 1])
        let q3m = try Self.types(.q3_K_M, layers: 32)
        #expect(q3m["blk.0.attn_v.weight"] == .q5_K && q3m["blk.1.attn_v.weight"] == .q5_K && q3m["blk.2.attn_v.weight"] == .q4_K)
        #expect(q3m["blk.1.ffn_down.weight"] == .q5_K && q3m["blk.2.ffn_down.weight"] == .q4_K)
        #expect(q3m["blk.5.attn_output.weight"] == .q4_K && q3m["blk.5.attn_q.weight"] == .q3_K)
        let q2 = try Self.types(.q2_K, layers: 32)
        #expect(q2["blk.0.attn_v.weight"] == .q3_K && q2["blk.0.ffn_down.weight"] == .q3_K && q2["blk.0.attn_output.weight"] == .q3_K)
        // Grouped-query attention with 8 heads per kv head: Q2_K's attn_v gets Q4_K.
        #expect(try Self.types(.q2_K, layers: 32, heads: 32, kvHeads: 4)["blk.0.attn_v.weight"] == .q4_K)
        let q3l = try Self.types(.q3_K_L, layers: 32)
        #expect(q3l["blk.9.attn_v.weight"] == .q5_K && q3l["blk.9.ffn_down.weight"] == .q5_K && q3l["blk.9.attn_output.weight"] == .q5_K)
        #expect(Self.histogram(try Self.types(.q6_K, layers: 32)) == ["F32": 65, "Q6_K": 226])
        #expect(Self.histogram(try Self.types(.q8_0, layers: 32)) == ["F32": 65, "Q8_0": 226])
        #expect(Self.histogram(try Self.types(.f16, layers: 32)) == ["F32": 65, "F16": 226])
    }

    @Test("Llama-2-70B (80 layers, 8 kv heads): attn_v gets Q5_K where Q4_K_M would give Q4_K")
    func seventyB() throws {
        let types = try Self.types(.q4_K_M, layers: 80, hidden: 8192, ffn: 28672, heads: 64, kvHeads: 8)
        #expect(types["blk.40.attn_v.weight"] == .q5_K)  // not promoted by use_more_bits: Q4_K, raised for 70B
        #expect(types["blk.42.attn_v.weight"] == .q6_K)  // (42 - 80/8) % 3 == 2: promoted
        #expect(try Self.types(.q4_K_M, layers: 80, hidden: 8192, ffn: 28672, heads: 64, kvHeads: 64)["blk.40.attn_v.weight"] == .q4_K)
    }

    @Test("OpenLLaMA-3B's rows (3200, 8640) fall back")
    func openLlama3B() throws {
        let types = try Self.types(.q4_K_M, layers: 26, hidden: 3200, ffn: 8640, heads: 32, kvHeads: 32)
        #expect(types["output.weight"] == .q8_0)
        #expect(types["blk.5.attn_q.weight"] == .q5_0)
        #expect(types["blk.0.ffn_down.weight"] == .q8_0)
        #expect(types["blk.4.ffn_down.weight"] == .q5_0)  // Q4_K -> Q5_0
        #expect(types["blk.5.ffn_down.weight"] == .q8_0)  // (5 - 26/8) % 3 == 2: Q6_K -> Q8_0
    }
}
