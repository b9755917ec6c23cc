import LineageTestSupport
import Foundation
import GGUF
import Testing
@testable import WeightFormats

/// K-quants: gguf-py can only dequantize them, so our bytes go through its dequantizer and must
/// decode exactly as ours do; the errors against the input must be in the expected range; and
/// hand-worked blocks pin the packing. Byte identity with llama.cpp is proven separately in
/// GGMLInteropTests.
@Suite("K-quant quantization")
struct KQuantizationTests {
    static let types: [GGMLType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test("gguf-py decodes our bytes exactly as our dequantizer does", arguments: types)
    func roundTripThroughGGUFPy(type: GGMLType) throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let all = QuantizationInputs.sets.flatMap(\.values)
        let bytes = try QuantizationTestSupport.quantize(all, as: type)
        let ours = try QuantizationTestSupport.dequantize(bytes, as: type, count: all.count)
        let reference = try QuantizationTestSupport.referenceDequantize(bytes, as: type, in: dir)
        #expect(reference.count == ours.count)
        if let i = ours.indices.first(where: { ours[$0].bitPattern != reference[$0].bitPattern && !(ours[$0].isNaN && reference[$0].isNaN) }) {
            Issue.record("\(type): element \(i) decodes to \(ours[i]) here but \(reference[i]) in gguf-py")
        }
    }

    /// Relative RMS error on normal-distributed weights; ranges from llama.cpp's published
    /// perplexity-free measurements (Q6_K ~1%, Q2_K ~ 30%), with headroom.
    @Test("error against the input is in the expected range", arguments: [
        (GGMLType.q2_K, Float(0.40)), (.q3_K, 0.22), (.q4_K, 0.11), (.q5_K, 0.055), (.q6_K, 0.028),
    ])
    func errorBounds(type: GGMLType, bound: Float) throws {
        let x = QuantizationInputs.normal(16 * 256, scale: 0.02, seed: 42)
        let y = try QuantizationTestSupport.dequantize(try QuantizationTestSupport.quantize(x, as: type), as: type, count: x.count)
        var err: Double = 0
        var ref: Double = 0
        for (a, b) in zip(x, y) {
            err += Double(a - b) * Double(a - b)
            ref += Double(a) * Double(a)
        }
        let relative = Float((err / ref).squareRoot())
        #expect(relative < bound, "\(type) relative RMS error \(relative)")
        #expect(relative > bound / 6, "\(type) error \(relative) is implausibly small for this bit width")
    }

    @Test("all-zero super-blocks encode to all-zero bytes", arguments: types)
    func zeroBlocks(type: GGMLType) throws {
        let bytes = try QuantizationTestSupport.quantize([Float](repeating: 0, count: 256), as: type)
        #expect(bytes == [UInt8](repeating: 0, count: type.typeSize))
    }

    @Test("hand-worked Q6_K block: one non-zero value")
    func handWorkedQ6K() throws {
        // x[0] = 1, rest 0. make_qx_quants on sub-block 0 finds scale -1/32 (level -32); the
        // super-block iscale is -128 / (-1/32) = 4096, so d = 2^-12 (fp16 0x0C00) and
        // scales[0] = -128. Requantized, x[0] -> -32 (stored 0) and x[1...15] -> 0 (stored 32,
        // whose high bits 0b10 land in qh[1...15]). Other sub-blocks keep L = 0 with scale 0.
        var x = [Float](repeating: 0, count: 256)
        x[0] = 1
        let bytes = try QuantizationTestSupport.quantize(x, as: .q6_K)
        var expected = [UInt8](repeating: 0, count: 210)
        for l in 1..<16 { expected[128 + l] = 2 }
        expected[192] = 0x80
        expected[208] = 0x00
        expected[209] = 0x0C
        #expect(bytes == expected)
        let back = try QuantizationTestSupport.dequantize(bytes, as: .q6_K, count: 256)
        #expect(back == x)
    }

    @Test("hand-worked Q4_K block: two-level sub-blocks decode exactly")
    func handWorkedQ4K() throws {
        // Every 32-element sub-block holds only 0 and 1.5, so all share one scale (1.5 / 15):
        // each 6-bit scale is the maximum 63, every min and dmin are 0, 1.5 is level 15 and 0 is
        // level 0; decoded values are within fp16 rounding of the input.
        var x = [Float](repeating: 0, count: 256)
        for i in stride(from: 0, to: 256, by: 3) { x[i] = 1.5 }
        let bytes = try QuantizationTestSupport.quantize(x, as: .q4_K)
        let (sc0, m0) = KQuantization.scaleMinK4(0, bytes.withUnsafeBytes { UnsafeRawBufferPointer($0) }, at: 4)
        #expect(sc0 == 63 && m0 == 0)
        #expect(bytes[2] == 0 && bytes[3] == 0)  // dmin = 0: no negative offsets needed
        let back = try QuantizationTestSupport.dequantize(bytes, as: .q4_K, count: 256)
        for (a, b) in zip(x, back) { #expect(abs(a - b) <= 1.5 / 1000) }
        // Quants: 15 where x = 1.5, 0 elsewhere; element 0 (x = 1.5) is the low nibble of qs[0].
        #expect(bytes[16] & 0x0F == 15)
    }
}

@Suite("scalar helpers")
struct ScalarHelperTests {
    @Test("nearest_int rounds half to even like ggml")
    func nearestIntRounding() {
        #expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 3.5000002].map { nearestInt(Float($0)) } == [0, 2, 2, 0, -2, -2, 2, 4])
        #expect(nearestInt(4_194_303) == 4_194_303)
        #expect(nearestInt(-4_194_303) == -4_194_303)
    }

    @Test("C float-to-integer casts behave like cvttss2si on x86-64")
    func cCasts() {
        #expect(cTruncateToInt8(16.9) == 16)
        #expect(cTruncateToInt8(-0.7) == 0)
        #expect(cTruncateToInt8(.nan) == 0)  // 0x80000000 truncated to a byte
        #expect(cTruncateToInt8(.infinity) == 0)
        #expect(cTruncateToInt8(200) == -56)
        #expect(cTruncateToUInt8(31.99) == 31)
    }

    @Test("fp16 conversion matches round-to-nearest-even for every finite input class")
    func fp16() {
        var g = QuantizationInputs.Generator(state: 9)
        for _ in 0..<200_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))
            guard !f.isNaN else { continue }
            #expect(HalfPrecision.fp16Bits(f) == Float16(f).bitPattern, "\(f)")
        }
        #expect(HalfPrecision.fp16Bits(65520) == 0x7C00)  // rounds up to infinity
        #expect(HalfPrecision.fp16Bits(65519.996) == 0x7BFF)
        #expect(HalfPrecision.fp16Bits(-0.0) == 0x8000)
        #expect(HalfPrecision.fp16Bits(Float(bitPattern: 0x3300_0000)) == 0x0000)  // 2^-25: tie to even -> 0
        #expect(HalfPrecision.fp16Bits(Float(bitPattern: 0x3300_0001)) == 0x0001)
    }

    @Test("fp16 widening is exact for all 65,536 bit patterns (NaNs stay NaN)")
    func fp16Widening() {
        for h in 0...UInt16.max {
            let ours = HalfPrecision.widen(h)
            let reference = Float(Float16(bitPattern: h))
            #expect(ours.bitPattern == reference.bitPattern || (ours.isNaN && reference.isNaN), "0x\(String(h, radix: 16))")
        }
    }

    @Test("the legacy fast paths round and truncate exactly as C's roundf and casts")
    func legacyRounding() {
        // Ties, values just off ties, signed zeros and the range ends.
        let values: [Float] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997, 126.5, -126.5, 127.00001, -0.0, 0,
                               3.4999998, 3.5000002, 1e-30, -1e-30]
        for chunk in stride(from: 0, to: values.count, by: 8) {
            var lanes = SIMD8<Float>(repeating: 0)
            for k in 0..<min(8, values.count - chunk) { lanes[k] = values[chunk + k] }
            let ours = LegacyQuantization.roundHalfAway(lanes)
            for k in 0..<8 { #expect(ours[k] == Int32(lanes[k].rounded(.toNearestOrAwayFromZero)), "\(lanes[k])") }
        }
        for v: Float in [0, 0.5, 0.99999994, 1, 1.5, 15.999999, 16, 16.5, 31.499998, 4194303.5] {
            #expect(LegacyQuantization.truncateSmall(v) == Int32(v), "\(v)")
            #expect(LegacyQuantization.truncateSmall(SIMD8<Float>(repeating: v))[3] == Int32(v), "\(v)")
        }
    }

    @Test("NaN handling: fp16 canonical 0x7E00 with sign, bf16 forced quiet")
    func nans() {
        #expect(HalfPrecision.fp16Bits(Float(bitPattern: 0x7FC0_0001)) == 0x7E00)
        #expect(HalfPrecision.fp16Bits(Float(bitPattern: 0xFF80_0001)) == 0xFE00)
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x7F80_0001)) == 0x7FC0)  // signalling -> quiet
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0xFFA5_1234)) == 0xFFE5)
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x7F7F_FFFF)) == 0x7F80)  // max float -> inf
    }
}
