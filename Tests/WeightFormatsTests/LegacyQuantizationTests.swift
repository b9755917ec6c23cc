import LineageTestSupport
import Foundation
import GGUF
import Testing
@testable import WeightFormats

/// F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 must give exactly the bytes gguf-py's
/// gguf.quants.quantize gives (which matches ggml's quantize_row_*_ref), on every input set.
@Suite("legacy quantization is byte-identical to gguf-py")
struct LegacyQuantizationTests {
    static let types: [GGMLType] = [.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    @Test("byte-identical on every input set", arguments: types)
    func byteIdentical(type: GGMLType) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // One Python run per type over all sets concatenated keeps the test fast.
        let all = QuantizationInputs.sets.flatMap(\.values)
        let ours = try QuantizationTestSupport.quantize(all, as: type)
        let reference = try QuantizationTestSupport.referenceQuantize(all, as: type, in: dir)
        let blockBytes = type.typeSize
        if let block = QuantizationTestSupport.firstDifferentBlock(ours, reference, blockBytes: blockBytes) {
            // Name the input set the first mismatch falls in.
            var start = 0
            var name = "?"
            let element = block * type.blockSize
            for set in QuantizationInputs.sets {
                if element < start + set.values.count { name = set.name; break }
                start += set.values.count
            }
            let r = (block * blockBytes)..<((block + 1) * blockBytes)
            Issue.record("\(type): block \(block) (input set '\(name)') differs: ours \(TestSupport.hex(ours[r])) vs gguf-py \(TestSupport.hex(reference[r]))")
        }
        #expect(ours.count == reference.count)
    }

    @Test("dequantizers match gguf-py bit for bit", arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .bf16, .f16])
    func dequantizeMatches(type: GGMLType) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values = QuantizationInputs.sets[0].values + QuantizationInputs.sets[1].values
        let bytes = try QuantizationTestSupport.quantize(values, as: type)
        let ours = try QuantizationTestSupport.dequantize(bytes, as: type, count: values.count)
        let reference = try QuantizationTestSupport.referenceDequantize(bytes, as: type, in: dir)
        #expect(QuantizationTestSupport.sameFloats(ours, reference))
    }

    @Test("hand-worked Q8_0 and Q4_0 blocks")
    func handWorked() throws {
        // Q8_0: amax 127 -> d = 1 (fp16 0x3C00); halves round away from zero.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127
        x[1] = 0.5
        x[2] = -0.5
        x[3] = 1.5
        x[4] = -2.5
        let q8 = try QuantizationTestSupport.quantize(x + [Float](repeating: 0, count: 224), as: .q8_0)
        #expect(Array(q8[0..<7]) == [0x00, 0x3C, 127, 1, 0xFF, 2, 0xFD])

        // Q4_0: max = -8 -> d = 1; q = min(15, trunc(x + 8.5)).
        var y = [Float](repeating: 0, count: 32)
        y[0] = -8
        y[1] = 7
        y[16] = 3.49
        y[17] = -0.5
        let q4 = try QuantizationTestSupport.quantize(y + [Float](repeating: 0, count: 224), as: .q4_0)
        #expect(Array(q4[0..<4]) == [0x00, 0x3C, 0x00 | (0x0B << 4), 0x0F | (0x08 << 4)])
    }

    @Test("sizes are checked")
    func sizeChecks() throws {
        var out = [UInt8](repeating: 0, count: 33)
        let x = [Float](repeating: 1, count: 32)
        let error = #expect(throws: QuantizationError.self) {
            try x.withUnsafeBufferPointer { src in try out.withUnsafeMutableBytes { try GGMLQuantizer.quantizeRow(src, as: .q8_0, into: $0) } }
        }
        #expect(error?.description == "quantization error: 32 elements of Q8_0 take 34 bytes, but the buffer holds 33")
        let odd = [Float](repeating: 1, count: 40)
        let block = #expect(throws: QuantizationError.self) {
            try odd.withUnsafeBufferPointer { src in try out.withUnsafeMutableBytes { try GGMLQuantizer.quantizeRow(src, as: .q4_0, into: $0) } }
        }
        #expect(block?.description == "quantization error: 40 elements is not a multiple of Q4_0's block size 32")
        var iq = [UInt8](repeating: 0, count: 18)
        let unsupported = #expect(throws: QuantizationError.self) {
            try x.withUnsafeBufferPointer { src in try iq.withUnsafeMutableBytes { try GGMLQuantizer.quantizeRow(src, as: .iq4_NL, into: $0) } }
        }
        #expect(unsupported?.description.hasPrefix("quantization error: quantizing to IQ4_NL is not supported") == true)
    }
}
