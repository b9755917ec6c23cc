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
    static func expectIdentical(checkpoint: URL, f32: URL, presets: [QuantizationPreset], in dir: URL) throws {
        for preset in presets {
            let (ours, _) = try Conversion.run(checkpoint, preset, to: dir.appendingPathComponent("ours-\(preset).gguf"))
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
