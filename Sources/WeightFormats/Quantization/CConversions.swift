/// Float-to-integer conversions as ggml's C code gets them on x86-64.
///
/// C casts such as `(int8_t)(x0 + 8.5f)` compile to `cvttss2si` (truncate to a 32-bit integer)
/// followed by keeping the low byte. For NaN or out-of-range inputs `cvttss2si` returns
/// 0x80000000 ("integer indefinite") instead of trapping as Swift's `Int32(_:)` would. These
/// inputs only arise in degenerate blocks (e.g. all-subnormal ones, where 1/d overflows), but
/// reproducing them keeps such blocks byte-identical too.
@inline(__always)
func cTruncateToInt32(_ f: Float) -> Int32 {
    if f.isNaN || f >= 2_147_483_648.0 || f < -2_147_483_648.0 { return Int32.min }
    return Int32(f)
}

/// `(int8_t)f` in C on x86-64.
@inline(__always)
func cTruncateToInt8(_ f: Float) -> Int8 {
    Int8(truncatingIfNeeded: cTruncateToInt32(f))
}

/// `(uint8_t)f` in C on x86-64.
@inline(__always)
func cTruncateToUInt8(_ f: Float) -> UInt8 {
    UInt8(truncatingIfNeeded: cTruncateToInt32(f))
}

/// ggml's nearest_int (ggml-quants.c): adds 1.5 * 2^23 so the FPU's round-to-nearest-even
/// leaves the integer in the low mantissa bits. Round-half-to-even, unlike roundf. Valid for
/// |fval| <= 4194303; outside that range the same bit arithmetic is reproduced.
@inline(__always)
func nearestInt(_ fval: Float) -> Int32 {
    let val = fval + 12_582_912.0
    let i = Int32(bitPattern: val.bitPattern)
    return (i & 0x007F_FFFF) &- 0x0040_0000
}

extension UnsafeMutableRawBufferPointer {
    /// Stores a ggml_half (fp16 bits) little-endian at `offset`.
    @inline(__always)
    func storeHalf(_ value: Float, at offset: Int) {
        storeBytes(of: HalfPrecision.fp16Bits(value).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}

extension UnsafeRawBufferPointer {
    /// Loads a ggml_half at `offset` as Float.
    @inline(__always)
    func loadHalf(at offset: Int) -> Float {
        HalfPrecision.float(fromFP16Bits: UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
