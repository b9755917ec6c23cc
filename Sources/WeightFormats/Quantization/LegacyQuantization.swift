/// Row quantizers for the 32-element block types, byte-identical to ggml's
/// quantize_row_*_ref (ggml/src/ggml-quants.c), which llama-quantize uses when no importance
/// matrix is given.
///
/// Floating-point expressions keep C's evaluation order and are never fused: ggml-base is
/// compiled for baseline x86-64 (no FMA), and Swift does not contract `a * b + c` into an FMA,
/// so writing `let x0 = x * id; x0 + 8.5` here gives the same two roundings as the C code.
/// Each function takes one row (or several whole rows: the layout is the same) whose length is
/// a multiple of 32 and writes `count / 32 * blockBytes` bytes.
public enum LegacyQuantization {
    public static let blockSize = 32

    /// quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d) (half away from zero).
    /// Block: fp16 d, int8 qs[32] (34 bytes).
    public static func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 34, "Q8_0 needs 32-element blocks and 34 bytes per block")
        for i in 0..<nb {
            let xb = i * 32
            var amax: Float = 0
            for j in 0..<32 {
                let v = abs(x[xb + j])
                amax = amax > v ? amax : v  // C's MAX(amax, fabsf(v))
            }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            let yb = i * 34
            y.storeHalf(d, at: yb)
            for j in 0..<32 {
                let x0 = x[xb + j] * id
                y[yb + 2 + j] = UInt8(bitPattern: cTruncateToInt8(x0.rounded(.toNearestOrAwayFromZero)))
            }
        }
    }

    /// quantize_row_q4_0_ref: d = (signed value of largest magnitude, first on ties) / -8,
    /// q = min(15, (int8)(x * id + 8.5)); elements 0-15 in the low nibbles, 16-31 in the high.
    /// Block: fp16 d, qs[16] (18 bytes).
    public static func quantizeQ4_0(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 18, "Q4_0 needs 32-element blocks and 18 bytes per block")
        for i in 0..<nb {
            let xb = i * 32
            let max = signedAbsMax(x, from: xb)
            let d = max / -8
            let id: Float = d != 0 ? 1 / d : 0
            let yb = i * 18
            y.storeHalf(d, at: yb)
            for j in 0..<16 {
                let x0 = x[xb + j] * id
                let x1 = x[xb + 16 + j] * id
                let xi0 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x0 + 8.5))))
                let xi1 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x1 + 8.5))))
                y[yb + 2 + j] = xi0 | (xi1 &<< 4)
            }
        }
    }

    /// quantize_row_q4_1_ref: d = (max - min) / 15, m = min, q = min(15, (int8)((x - min) * id + 0.5)).
    /// Block: fp16 d, fp16 m, qs[16] (20 bytes).
    public static func quantizeQ4_1(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 20, "Q4_1 needs 32-element blocks and 20 bytes per block")
        for i in 0..<nb {
            let xb = i * 32
            let (min, max) = minMax(x, from: xb)
            let d = (max - min) / 15
            let id: Float = d != 0 ? 1 / d : 0
            let yb = i * 20
            y.storeHalf(d, at: yb)
            y.storeHalf(min, at: yb + 2)
            for j in 0..<16 {
                let x0 = (x[xb + j] - min) * id
                let x1 = (x[xb + 16 + j] - min) * id
                let xi0 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x0 + 0.5))))
                let xi1 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x1 + 0.5))))
                y[yb + 4 + j] = xi0 | (xi1 &<< 4)
            }
        }
    }

    /// quantize_row_q5_0_ref: as Q4_0 with d = max / -16 and q = min(31, (int8)(x * id + 16.5));
    /// bit 4 of element j goes to bit j of the little-endian u32 qh (element j+16 to bit j+16).
    /// Block: fp16 d, qh[4], qs[16] (22 bytes).
    public static func quantizeQ5_0(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 22, "Q5_0 needs 32-element blocks and 22 bytes per block")
        for i in 0..<nb {
            let xb = i * 32
            let max = signedAbsMax(x, from: xb)
            let d = max / -16
            let id: Float = d != 0 ? 1 / d : 0
            let yb = i * 22
            y.storeHalf(d, at: yb)
            var qh: UInt32 = 0
            for j in 0..<16 {
                let x0 = x[xb + j] * id
                let x1 = x[xb + 16 + j] * id
                let xi0 = UInt8(truncatingIfNeeded: Swift.min(31, Int(cTruncateToInt8(x0 + 16.5))))
                let xi1 = UInt8(truncatingIfNeeded: Swift.min(31, Int(cTruncateToInt8(x1 + 16.5))))
                y[yb + 6 + j] = (xi0 & 0x0F) | ((xi1 & 0x0F) &<< 4)
                qh |= UInt32((xi0 & 0x10) >> 4) << UInt32(j)
                qh |= UInt32((xi1 & 0x10) >> 4) << UInt32(j + 16)
            }
            y.storeBytes(of: qh.littleEndian, toByteOffset: yb + 2, as: UInt32.self)
        }
    }

    /// quantize_row_q5_1_ref: as Q4_1 with d = (max - min) / 31 and q = (uint8)((x - min) * id + 0.5)
    /// (no clamp in C); high bits as in Q5_0. Block: fp16 d, fp16 m, qh[4], qs[16] (24 bytes).
    public static func quantizeQ5_1(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 32
        precondition(x.count % 32 == 0 && y.count == nb * 24, "Q5_1 needs 32-element blocks and 24 bytes per block")
        for i in 0..<nb {
            let xb = i * 32
            let (min, max) = minMax(x, from: xb)
            let d = (max - min) / 31
            let id: Float = d != 0 ? 1 / d : 0
            let yb = i * 24
            y.storeHalf(d, at: yb)
            y.storeHalf(min, at: yb + 2)
            var qh: UInt32 = 0
            for j in 0..<16 {
                let x0 = (x[xb + j] - min) * id
                let x1 = (x[xb + 16 + j] - min) * id
                let xi0 = cTruncateToUInt8(x0 + 0.5)
                let xi1 = cTruncateToUInt8(x1 + 0.5)
                y[yb + 8 + j] = (xi0 & 0x0F) | ((xi1 & 0x0F) &<< 4)
                qh |= UInt32((xi0 & 0x10) >> 4) << UInt32(j)
                qh |= UInt32((xi1 & 0x10) >> 4) << UInt32(j + 16)
            }
            y.storeBytes(of: qh.littleEndian, toByteOffset: yb + 4, as: UInt32.self)
        }
    }

    /// The signed value with the largest magnitude in a 32-element block; the first one wins
    /// ties (C's strict `amax < fabsf(v)`).
    @inline(__always)
    static func signedAbsMax(_ x: UnsafeBufferPointer<Float>, from start: Int) -> Float {
        var amax: Float = 0
        var max: Float = 0
        for j in 0..<32 {
            let v = x[start + j]
            if amax < abs(v) {
                amax = abs(v)
                max = v
            }
        }
        return max
    }

    /// Minimum and maximum of a 32-element block, starting from FLT_MAX / -FLT_MAX as C does.
    @inline(__always)
    static func minMax(_ x: UnsafeBufferPointer<Float>, from start: Int) -> (Float, Float) {
        var min = Float.greatestFiniteMagnitude
        var max = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            let v = x[start + j]
            if v < min { min = v }
            if v > max { max = v }
        }
        return (min, max)
    }
}
