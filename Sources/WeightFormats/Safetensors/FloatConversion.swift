
/// Little-endian F32 / F16 / BF16 / F64 element bytes to Float, exact for F32, F16 and BF16.
/// Loads are unaligned: a safetensors data section need not be aligned to the element size.
public enum FloatConversion {
    public static func convert(
        _ source: UnsafeRawBufferPointer, dtype: SafetensorsDType, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        let n = destination.count
        switch dtype {
        case .f32:
            precondition(source.count == n * 4, "source holds \(source.count) bytes, expected \(n * 4)")
            #if _endian(little)
            // The file's bytes are the floats: one copy, no per-element work.
            if n > 0 { UnsafeMutableRawPointer(destination.baseAddress!).copyMemory(from: source.baseAddress!, byteCount: n * 4) }
            #else
            for i in 0..<n {
                destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
            #endif
        case .f16:
            precondition(source.count == n * 2, "source holds \(source.count) bytes, expected \(n * 2)")
            for i in 0..<n {
                destination[i] = HalfPrecision.widen(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
            }
        case .bf16:
            precondition(source.count == n * 2, "source holds \(source.count) bytes, expected \(n * 2)")
            for i in 0..<n {
                destination[i] = HalfPrecision.float(fromBF16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
            }
        case .f64:
            precondition(source.count == n * 8, "source holds \(source.count) bytes, expected \(n * 8)")
            for i in 0..<n {
                destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
            }
        default:
            preconditionFailure("\(dtype.rawValue) is not convertible to Float")
        }
    }
}
