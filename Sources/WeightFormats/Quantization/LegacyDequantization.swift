/// Dequantizers for the 32-element block types, mirroring ggml's dequantize_row_* (same
/// operation order, so results are bit-identical to ggml and to gguf-py's dequantize).
public enum LegacyDequantization {
    public static func dequantizeQ8_0(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 34)
        for i in 0..<nb {
            let d = y.loadHalf(at: i * 34)
            for j in 0..<32 {
                x[i * 32 + j] = Float(Int8(bitPattern: y[i * 34 + 2 + j])) * d
            }
        }
    }

    public static func dequantizeQ4_0(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 18)
        for i in 0..<nb {
            let d = y.loadHalf(at: i * 18)
            for j in 0..<16 {
                let q = y[i * 18 + 2 + j]
                x[i * 32 + j] = Float(Int(q & 0x0F) - 8) * d
                x[i * 32 + j + 16] = Float(Int(q >> 4) - 8) * d
            }
        }
    }

    public static func dequantizeQ4_1(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 20)
        for i in 0..<nb {
            let d = y.loadHalf(at: i * 20)
            let m = y.loadHalf(at: i * 20 + 2)
            for j in 0..<16 {
                let q = y[i * 20 + 4 + j]
                x[i * 32 + j] = Float(q & 0x0F) * d + m
                x[i * 32 + j + 16] = Float(q >> 4) * d + m
            }
        }
    }

    public static func dequantizeQ5_0(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 22)
        for i in 0..<nb {
            let d = y.loadHalf(at: i * 22)
            let qh = UInt32(littleEndian: y.loadUnaligned(fromByteOffset: i * 22 + 2, as: UInt32.self))
            for j in 0..<16 {
                let q = y[i * 22 + 6 + j]
                let h0 = Int((qh >> UInt32(j)) & 1) << 4
                let h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                x[i * 32 + j] = Float((Int(q & 0x0F) | h0) - 16) * d
                x[i * 32 + j + 16] = Float((Int(q >> 4) | h1) - 16) * d
            }
        }
    }

    public static func dequantizeQ5_1(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 24)
        for i in 0..<nb {
            let d = y.loadHalf(at: i * 24)
            let m = y.loadHalf(at: i * 24 + 2)
            let qh = UInt32(littleEndian: y.loadUnaligned(fromByteOffset: i * 24 + 4, as: UInt32.self))
            for j in 0..<16 {
                let q = y[i * 24 + 8 + j]
                let h0 = Int((qh >> UInt32(j)) & 1) << 4
                let h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                x[i * 32 + j] = Float(Int(q & 0x0F) | h0) * d + m
                x[i * 32 + j + 16] = Float(Int(q >> 4) | h1) * d + m
            }
        }
    }
}
