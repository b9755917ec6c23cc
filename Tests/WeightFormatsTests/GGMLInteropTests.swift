import LineageTestSupport
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

    /// Half a million weights shaped like real layers and unlike them: normal rows of varying
    /// scale, heavy tails, sparse rows, rows with constant or all-positive sub-blocks, and
    /// tiny magnitudes. The K-quants search eight sub-blocks at a time (KQuantSearchLanes), so
    /// every way lanes can disagree (one accepts a candidate, its neighbour does not; one is
    /// constant, its neighbour is not) must occur somewhere in here.
    static func assortedRows() -> [Float] {
        var g = QuantizationInputs.Generator(state: 2026)
        var out: [Float] = []
        for row in 0..<512 {
            let scale = Float(pow(10.0, Double(row % 7) - 4))
            for i in 0..<1024 {
                var v = g.normal() * scale
                switch row % 8 {
                case 1: v = v * v * v * 40  // heavy tails
                case 2: if g.uniform() < 0.9 { v = 0 }  // sparse
                case 3: if (i / 32) % 3 == 0 { v = scale * 0.5 }  // constant sub-blocks
                case 4: v = abs(v) + scale * 0.1  // all positive, min > 0
                case 5: if (i / 16) % 5 == 1 { v = 0 }  // zero 16-element sub-blocks
                case 6: v = Float(Int(v / scale * 3)) * scale / 3  // few distinct levels
                default: break
                }
                out.append(v)
            }
        }
        return out
    }

    @Test("assorted rows give the same bytes", .enabled(if: ggmlAvailable), arguments: types)
    func assortedRowsMatchGGML(type: GGMLType) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values = Self.assortedRows()
        let ours = try QuantizationTestSupport.quantize(values, as: type)
        let input = dir.appendingPathComponent("in.f32")
        let output = dir.appendingPathComponent("out.bin")
        try QuantizationTestSupport.writeFloats(values, to: input)
        _ = try TestSupport.runPython("ggml_quantize.py", ["quantize", "\(type)", input.path, output.path, "1024"])
        let reference = Array(try Data(contentsOf: output))
        #expect(ours.count == reference.count)
        if let block = QuantizationTestSupport.firstDifferentBlock(ours, reference, blockBytes: type.typeSize) {
            let r = (block * type.typeSize)..<((block + 1) * type.typeSize)
            Issue.record("\(type): block \(block) (row \(block * type.blockSize / 1024)) differs from ggml:\n ours \(TestSupport.hex(ours[r]))\n ggml \(TestSupport.hex(reference[r]))")
        }
    }
}
