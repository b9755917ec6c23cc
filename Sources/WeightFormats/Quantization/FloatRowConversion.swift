/// F32 rows to F16 / BF16 / F32 tensor bytes, as ggml_quantize_chunk does for these types
/// (ggml_fp32_to_fp16_row and ggml_fp32_to_bf16_row_ref).
public enum FloatRowConversion {
    public static func toF16(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        precondition(y.count == x.count * 2, "F16 needs 2 bytes per element")
        for i in 0..<x.count {
            y.storeBytes(of: HalfPrecision.fp16Bits(x[i]).littleEndian, toByteOffset: i * 2, as: UInt16.self)
        }
    }

    public static func toBF16(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        precondition(y.count == x.count * 2, "BF16 needs 2 bytes per element")
        for i in 0..<x.count {
            y.storeBytes(of: HalfPrecision.bf16Bits(x[i]).littleEndian, toByteOffset: i * 2, as: UInt16.self)
        }
    }

    public static func toF32(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        precondition(y.count == x.count * 4, "F32 needs 4 bytes per element")
        #if _endian(little)
        if !x.isEmpty { y.baseAddress!.copyMemory(from: x.baseAddress!, byteCount: x.count * 4) }
        #else
        for i in 0..<x.count {
            y.storeBytes(of: x[i].bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
        }
        #endif
    }
}
