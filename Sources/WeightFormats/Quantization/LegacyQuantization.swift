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
            if id.isFinite && allFinite(x, from: xb) {
                // |x * id| <= 127: roundf eight lanes at a time, without the library call.
                let scale = SIMD8<Float>(repeating: id)
                let base = UnsafeRawPointer(x.baseAddress! + xb)
                for k in 0..<4 {
                    let q = roundHalfAway(base.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self) * scale)
                    y.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: q), toByteOffset: yb + 2 + 8 * k, as: SIMD8<UInt8>.self)
                }
            } else {
                for j in 0..<32 {
                    let x0 = x[xb + j] * id
                    y[yb + 2 + j] = UInt8(bitPattern: cTruncateToInt8(x0.rounded(.toNearestOrAwayFromZero)))
                }
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
            if id.isFinite && allFinite(x, from: xb) {
                // x * id + 8.5 lies in [0.5, 16.5]: a plain conversion truncates as C's does.
                for j in 0..<16 {
                    let xi0 = UInt8(truncatingIfNeeded: Swift.min(15, truncateSmall(x[xb + j] * id + 8.5)))
                    let xi1 = UInt8(truncatingIfNeeded: Swift.min(15, truncateSmall(x[xb + 16 + j] * id + 8.5)))
                    y[yb + 2 + j] = xi0 | (xi1 &<< 4)
                }
            } else {
                for j in 0..<16 {
                    let x0 = x[xb + j] * id
                    let x1 = x[xb + 16 + j] * id
                    let xi0 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x0 + 8.5))))
                    let xi1 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x1 + 8.5))))
                    y[yb + 2 + j] = xi0 | (xi1 &<< 4)
                }
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
            if id.isFinite && allFinite(x, from: xb) {
                // (x - min) * id + 0.5 lies in [0.5, 15.5].
                for j in 0..<16 {
                    let xi0 = UInt8(truncatingIfNeeded: Swift.min(15, truncateSmall((x[xb + j] - min) * id + 0.5)))
                    let xi1 = UInt8(truncatingIfNeeded: Swift.min(15, truncateSmall((x[xb + 16 + j] - min) * id + 0.5)))
                    y[yb + 4 + j] = xi0 | (xi1 &<< 4)
                }
            } else {
                for j in 0..<16 {
                    let x0 = (x[xb + j] - min) * id
                    let x1 = (x[xb + 16 + j] - min) * id
                    let xi0 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x0 + 0.5))))
                    let xi1 = UInt8(truncatingIfNeeded: Swift.min(15, Int(cTruncateToInt8(x1 + 0.5))))
                    y[yb + 4 + j] = xi0 | (xi1 &<< 4)
                }
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
            if id.isFinite && allFinite(x, from: xb) {
                // x * id + 16.5 lies in [0.5, 32.5]: truncate eight lanes at a time.
                let base = UnsafeRawPointer(x.baseAddress! + xb)
                let scale = SIMD8<Float>(repeating: id)
                let top = SIMD8<Int32>(repeating: 31)
                func lane(_ k: Int) -> SIMD8<Int32> {
                    var q = truncateSmall(base.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self) * scale + 16.5)
                    q.replace(with: top, where: q .> top)  // MIN(31, ...)
                    return q
                }
                storeFiveBitBlock(lane(0), lane(1), lane(2), lane(3), into: y, qh: yb + 2, qs: yb + 6)
                continue
            }
            var qh: UInt32 = 0
            for j in 0..<16 {
                let x0 = x[xb + j] * id + 16.5
                let x1 = x[xb + 16 + j] * id + 16.5
                let xi0 = UInt8(truncatingIfNeeded: Swift.min(31, Int(cTruncateToInt8(x0))))
                let xi1 = UInt8(truncatingIfNeeded: Swift.min(31, Int(cTruncateToInt8(x1))))
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
            if id.isFinite && allFinite(x, from: xb) {
                // (x - min) * id + 0.5 lies in [0.5, 31.5]: truncate eight lanes at a time.
                let base = UnsafeRawPointer(x.baseAddress! + xb)
                let scale = SIMD8<Float>(repeating: id)
                let low = SIMD8<Float>(repeating: min)
                func lane(_ k: Int) -> SIMD8<Int32> {
                    truncateSmall((base.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self) - low) * scale + 0.5)
                }
                storeFiveBitBlock(lane(0), lane(1), lane(2), lane(3), into: y, qh: yb + 4, qs: yb + 8)
                continue
            }
            var qh: UInt32 = 0
            for j in 0..<16 {
                let x0 = (x[xb + j] - min) * id + 0.5
                let x1 = (x[xb + 16 + j] - min) * id + 0.5
                let xi0 = cTruncateToUInt8(x0)
                let xi1 = cTruncateToUInt8(x1)
                y[yb + 8 + j] = (xi0 & 0x0F) | ((xi1 & 0x0F) &<< 4)
                qh |= UInt32((xi0 & 0x10) >> 4) << UInt32(j)
                qh |= UInt32((xi1 & 0x10) >> 4) << UInt32(j + 16)
            }
            y.storeBytes(of: qh.littleEndian, toByteOffset: yb + 4, as: UInt32.self)
        }
    }

    /// True when a 32-element block holds no NaN or infinity: then the scaled values stay in
    /// the small ranges the fast paths convert without C's out-of-range cast semantics.
    @inline(__always)
    static func allFinite(_ x: UnsafeBufferPointer<Float>, from start: Int) -> Bool {
        var bits: UInt32 = 0
        for j in 0..<32 {
            // An exponent of all ones (NaN or infinity) in any element sets these bits.
            bits |= ~x[start + j].bitPattern & 0x7F80_0000 == 0 ? 1 : 0
        }
        return bits == 0
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

    /// roundf for |v| < 2^22 on eight lanes, without a library call or a trapping conversion:
    /// round to nearest even by the 1.5 * 2^23 trick, move ties away from zero, and read the
    /// integer out of the mantissa.
    @inline(__always)
    static func roundHalfAway(_ v: SIMD8<Float>) -> SIMD8<Int32> {
        let magic = SIMD8<Float>(repeating: 12_582_912.0)
        let signBit = SIMD8<UInt32>(repeating: 0x8000_0000)
        let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
        let a = unsafeBitCast(bits & ~signBit, to: SIMD8<Float>.self)
        var r = (a + magic) - magic
        r.replace(with: r + 1, where: a - r .== 0.5)
        let signed = unsafeBitCast(unsafeBitCast(r, to: SIMD8<UInt32>.self) | (bits & signBit), to: SIMD8<Float>.self)
        return integer(signed)
    }

    /// (int)v for 0 <= v < 2^22 (C's truncation), branch-free: nearest even, minus one when
    /// that rounded up.
    @inline(__always)
    static func truncateSmall(_ v: Float) -> Int32 {
        let r = (v + 12_582_912.0) - 12_582_912.0
        return integer(r > v ? r - 1 : r)
    }

    /// (int)v on eight lanes, each 0 <= v < 2^22.
    @inline(__always)
    static func truncateSmall(_ v: SIMD8<Float>) -> SIMD8<Int32> {
        let magic = SIMD8<Float>(repeating: 12_582_912.0)
        var r = (v + magic) - magic
        r.replace(with: r - 1, where: r .> v)
        return integer(r)
    }

    /// Packs 32 five-bit values (four lanes of eight, elements in order) as Q5_0/Q5_1 store
    /// them: low nibbles of elements j and j+16 in byte j of `qs`, bit 4 of element j in bit j
    /// of the little-endian u32 at `qh`.
    @inline(__always)
    static func storeFiveBitBlock(
        _ q0: SIMD8<Int32>, _ q1: SIMD8<Int32>, _ q2: SIMD8<Int32>, _ q3: SIMD8<Int32>,
        into y: UnsafeMutableRawBufferPointer, qh: Int, qs: Int
    ) {
        let nibble = SIMD8<Int32>(repeating: 15)
        y.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: (q0 & nibble) | ((q2 & nibble) &<< 4)), toByteOffset: qs, as: SIMD8<UInt8>.self)
        y.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: (q1 & nibble) | ((q3 & nibble) &<< 4)), toByteOffset: qs + 8, as: SIMD8<UInt8>.self)
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        func bits(_ q: SIMD8<Int32>, from first: Int32) -> Int32 {
            (((q &>> 4) & 1) &<< (lane &+ first)).wrappedSum()
        }
        let all = bits(q0, from: 0) | bits(q1, from: 8) | bits(q2, from: 16) | bits(q3, from: 24)
        y.storeBytes(of: UInt32(bitPattern: all).littleEndian, toByteOffset: qh, as: UInt32.self)
    }

    /// The integer an integral float with |f| < 2^22 holds, from its bits.
    @inline(__always)
    static func integer(_ f: Float) -> Int32 {
        Int32(bitPattern: (f + 12_582_912.0).bitPattern & 0x007F_FFFF) &- 0x0040_0000
    }

    @inline(__always)
    static func integer(_ f: SIMD8<Float>) -> SIMD8<Int32> {
        let biased = unsafeBitCast(f + 12_582_912.0, to: SIMD8<Int32>.self)
        return (biased & 0x007F_FFFF) &- 0x0040_0000
    }
}
