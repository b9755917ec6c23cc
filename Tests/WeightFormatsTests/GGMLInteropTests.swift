import Foundation
import GGUF
import Testing
@testable import WeightFormats

/// The strongest check: llama.cpp's own ggml (libggml-base from the llama-cpp-python wheel,
/// called through ctypes by Tests/Scripts/ggml_quantize.py) quantizes the same rows with
/// ggml_quantize_chunk, exactly what llama-quantize does without an importance matrix, and the
/// bytes must be identical. Skipped when llama-cpp-python is not installed.
@Suite("byte identity with llama.cpp's ggml")
struct GGMLInteropTests {
    static let types: [GGMLType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .f16, .bf16]

    static var ggmlAvailable: Bool {
        (try? TestSupport.runPython("ggml_quantize.py", ["version"])) != nil
    }

    @Test("ggml_quantize_chunk gives the same bytes", .enabled(if: ggmlAvailable), arguments: types)
    func sameBytesAsGGML(type: GGMLType) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var sets = QuantizationInputs.sets
        // More random rows for the K-quants, whose searches have many branches.
        sets.append(("normal-extra", QuantizationInputs.normal(64 * 256, scale: 0.05, seed: 11)))
        if type == .f16 || type == .bf16 {
            // NaNs of every kind: ggml turns them into 0x7E00|sign (F16, where numpy and so
            // gguf-py keep payload bits instead) and into quiet NaNs (BF16).
            var g = QuantizationInputs.Generator(state: 12)
            let nans = (0..<256).map { i -> Float in
                let payload = UInt32(truncatingIfNeeded: g.next()) & 0x007F_FFFF | 1
                return Float(bitPattern: (i % 2 == 0 ? 0x7F80_0000 : 0xFF80_0000) | payload)
            }
            sets.append(("nan", nans))
        }
        let all = sets.flatMap(\.values)
        let ours = try QuantizationTestSupport.quantize(all, as: type)

        let input = dir.appendingPathComponent("in.f32")
        let output = dir.appendingPathComponent("out.bin")
        try QuantizationTestSupport.writeFloats(all, to: input)
        _ = try TestSupport.runPython("ggml_quantize.py", ["quantize", "\(type)", input.path, output.path, "\(QuantizationInputs.rowLength)"])
        let reference = Array(try Data(contentsOf: output))

        #expect(ours.count == reference.count)
        if let block = QuantizationTestSupport.firstDifferentBlock(ours, reference, blockBytes: type.typeSize) {
            var start = 0
            var name = "?"
            let element = block * type.blockSize
            for set in sets {
                if element < start + set.values.count { name = set.name; break }
                start += set.values.count
            }
            let r = (block * type.typeSize)..<((block + 1) * type.typeSize)
            Issue.record("\(type): block \(block) (input set '\(name)') differs from ggml:\n ours \(TestSupport.hex(ours[r]))\n ggml \(TestSupport.hex(reference[r]))")
        }
    }
}
