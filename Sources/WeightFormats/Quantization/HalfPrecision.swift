/// fp32 <-> fp16 and fp32 <-> bf16 conversions exactly as ggml's portable code does them.
///
/// Why not `Float16(x)`: ggml-base (where ggml_quantize_chunk, ggml_fp32_to_fp16_row and the
/// reference quantizers live) is built without F16C and uses ggml_compute_fp32_to_fp16 from
/// ggml-impl.h (Maratyszcza's FP16 algorithm). It rounds to nearest-even like the hardware for
/// every finite value and infinity, but turns every NaN into 0x7E00 with the sign kept, where a
/// hardware/Float16 conversion keeps payload bits. Reproducing the algorithm makes NaN handling
/// match llama-quantize too.
public enum HalfPrecision {
    /// ggml_compute_fp32_to_fp16 (ggml-impl.h).
    @inline(__always)
    public static func fp16Bits(_ f: Float) -> UInt16 {
        let scaleToInf = Float(bitPattern: 0x7780_0000)  // 0x1.0p+112f
        let scaleToZero = Float(bitPattern: 0x0880_0000)  // 0x1.0p-110f
        // Two separate multiplications, as in C: (|f| * 2^112) * 2^-110.
        let scaled = abs(f) * scaleToInf
        var base = scaled * scaleToZero

        let w = f.bitPattern
        let shl1W = w &+ w
        let sign = w & 0x8000_0000
        var bias = shl1W & 0xFF00_0000
        if bias < 0x7100_0000 { bias = 0x7100_0000 }

        base = Float(bitPattern: (bias >> 1) &+ 0x0780_0000) + base
        let bits = base.bitPattern
        let expBits = (bits >> 13) & 0x0000_7C00
        let mantissaBits = bits & 0x0000_0FFF
        let nonsign = expBits &+ mantissaBits
        return UInt16(truncatingIfNeeded: (sign >> 16) | (shl1W > 0xFF00_0000 ? 0x7E00 : nonsign))
    }

    /// ggml_compute_fp16_to_fp32: exact (every fp16 value is a float), so the hardware
    /// conversion gives the same bits.
    @inline(__always)
    public static func float(fromFP16Bits h: UInt16) -> Float {
        Float(Float16(bitPattern: h))
    }

    /// ggml_compute_fp16_to_fp32's portable form (Maratyszcza's FP16 algorithm): exact for
    /// every value, like the hardware conversion, but plain integer and float arithmetic, so a
    /// loop of it vectorizes (baseline x86-64 has no F16C, and `Float(Float16)` is a library
    /// call per element there).
    @inline(__always)
    public static func widen(_ h: UInt16) -> Float {
        let w = UInt32(h) << 16
        let sign = w & 0x8000_0000
        let twoW = w &+ w
        let normalized = Float(bitPattern: (twoW >> 4) &+ (0xE0 << 23)) * Float(bitPattern: 0x0780_0000)  // 0x1.0p-112f
        let denormalized = Float(bitPattern: (twoW >> 17) | (126 << 23)) - 0.5
        let bits = twoW < (1 << 27) ? denormalized.bitPattern : normalized.bitPattern
        return Float(bitPattern: sign | bits)
    }

    /// fp32 -> fp16 -> fp32, the value a stored `ggml_half` scale decodes to.
    @inline(__always)
    public static func roundedThroughFP16(_ f: Float) -> Float {
        float(fromFP16Bits: fp16Bits(f))
    }

    /// ggml_compute_fp32_to_bf16 (ggml-impl.h): NaN is forced quiet (top 16 bits with bit 6 of
    /// the low byte, 0x40, set); everything else rounds to nearest-even on the dropped 16 bits.
    /// gguf-py's BF16.quantize_blocks does the same.
    @inline(__always)
    public static func bf16Bits(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if (u & 0x7FFF_FFFF) > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: (u >> 16) | 64)
        }
        return UInt16(truncatingIfNeeded: (u &+ (0x7FFF &+ ((u >> 16) & 1))) >> 16)
    }

    /// bf16 -> fp32 is exact: the bits become the top half of the float.
    @inline(__always)
    public static func float(fromBF16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}
