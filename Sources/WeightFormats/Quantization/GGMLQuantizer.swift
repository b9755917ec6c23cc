import GGUF

/// Entry point for quantizing and dequantizing rows by ggml type.
///
/// Kernels work on whole rows (any multiple of the block size) so that callers can split a
/// tensor into row chunks and run them in parallel; they share no state.
public enum GGMLQuantizer {
    /// Types `quantizeRow` can produce, byte-identical to ggml without an importance matrix.
    public static let quantizableTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
    ]

    /// Quantizes `source` (a whole number of blocks, e.g. one row) into `destination`, which
    /// must be exactly `type.rowSize(elements: source.count)` bytes.
    public static func quantizeRow(
        _ source: UnsafeBufferPointer<Float>, as type: GGMLType, into destination: UnsafeMutableRawBufferPointer
    ) throws {
        try checkSizes(type: type, elements: source.count, bytes: destination.count)
        switch type {
        case .f32: FloatRowConversion.toF32(source, into: destination)
        case .f16: FloatRowConversion.toF16(source, into: destination)
        case .bf16: FloatRowConversion.toBF16(source, into: destination)
        case .q8_0: LegacyQuantization.quantizeQ8_0(source, into: destination)
        case .q4_0: LegacyQuantization.quantizeQ4_0(source, into: destination)
        case .q4_1: LegacyQuantization.quantizeQ4_1(source, into: destination)
        case .q5_0: LegacyQuantization.quantizeQ5_0(source, into: destination)
        case .q5_1: LegacyQuantization.quantizeQ5_1(source, into: destination)
        case .q2_K: KQuantization.quantizeQ2_K(source, into: destination)
        case .q3_K: KQuantization.quantizeQ3_K(source, into: destination)
        case .q4_K: KQuantization.quantizeQ4_K(source, into: destination)
        case .q5_K: KQuantization.quantizeQ5_K(source, into: destination)
        case .q6_K: KQuantization.quantizeQ6_K(source, into: destination)
        default:
            throw QuantizationError("quantizing to \(type) is not supported; supported: \(quantizableTypes.map(\.description).joined(separator: ", "))")
        }
    }

    /// Dequantizes `source` (whole blocks of `type`) into `destination`.
    public static func dequantizeRow(
        _ source: UnsafeRawBufferPointer, as type: GGMLType, into destination: UnsafeMutableBufferPointer<Float>
    ) throws {
        try checkSizes(type: type, elements: destination.count, bytes: source.count)
        switch type {
        case .f32:
            for i in 0..<destination.count {
                destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
        case .f16:
            for i in 0..<destination.count { destination[i] = source.loadHalf(at: i * 2) }
        case .bf16:
            for i in 0..<destination.count {
                destination[i] = HalfPrecision.float(fromBF16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
            }
        case .q8_0: LegacyDequantization.dequantizeQ8_0(source, into: destination)
        case .q4_0: LegacyDequantization.dequantizeQ4_0(source, into: destination)
        case .q4_1: LegacyDequantization.dequantizeQ4_1(source, into: destination)
        case .q5_0: LegacyDequantization.dequantizeQ5_0(source, into: destination)
        case .q5_1: LegacyDequantization.dequantizeQ5_1(source, into: destination)
        case .q2_K: KDequantization.dequantizeQ2_K(source, into: destination)
        case .q3_K: KDequantization.dequantizeQ3_K(source, into: destination)
        case .q4_K: KDequantization.dequantizeQ4_K(source, into: destination)
        case .q5_K: KDequantization.dequantizeQ5_K(source, into: destination)
        case .q6_K: KDequantization.dequantizeQ6_K(source, into: destination)
        default:
            throw QuantizationError("dequantizing \(type) is not supported; supported: \(quantizableTypes.map(\.description).joined(separator: ", "))")
        }
    }

    private static func checkSizes(type: GGMLType, elements: Int, bytes: Int) throws {
        guard let size = type.rowSize(elements: elements) else {
            throw QuantizationError("\(elements) elements is not a multiple of \(type)'s block size \(type.blockSize)")
        }
        guard size == bytes else {
            throw QuantizationError("\(elements) elements of \(type) take \(size) bytes, but the buffer holds \(bytes)")
        }
    }
}
