/// Row quantizers for the 256-element super-block K-quants, byte-identical to ggml's
/// quantize_row_q{2,3,4,5,6}_K_ref (ggml/src/ggml-quants.c), which llama-quantize uses when no
/// importance matrix is given. Each function mirrors its C counterpart loop by loop; the scale
/// searches run eight sub-blocks at a time (KQuantSearchLanes); see LegacyQuantization for the
/// no-FMA rule.
public enum KQuantization {
    public static let superBlockSize = 256

    // MARK: Q2_K — block: scales[16] (4-bit scale | 4-bit min), qs[64], fp16 d, fp16 dmin (84 bytes)

    /// quantize_row_q2_K_ref
    public static func quantizeQ2_K(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 84, "Q2_K needs 256-element blocks and 84 bytes per block")
        let q4scale: Float = 15
        withScratch { L, scales, mins, _ in
          withLaneScratch { xT, wT, LT, Laux in
            for i in 0..<nb {
                let xb = x.baseAddress! + i * 256
                let yb = i * 84
                // Sub-blocks 0-7, then 8-15, eight at a time (weights |x|).
                for g in 0..<2 {
                    KQuantSearchLanes.transpose(xb + 128 * g, stride: 16, count: 16, into: xT)
                    for l in 0..<16 { wT[l] = KQuantSearchLanes.abs(xT[l]) }
                    var theMin = KQuantSearchLanes.Floats()
                    let s = KQuantSearchLanes.makeQkx2Quants(
                        n: 16, nmax: 3, x: xT, weights: wT, L: LT, theMin: &theMin,
                        Laux: Laux, rmin: -0.5, rdelta: 0.1, nstep: 15, useMAD: true)
                    for j in 0..<8 {
                        scales[8 * g + j] = s[j]
                        mins[8 * g + j] = theMin[j]
                        for l in 0..<16 { L[16 * (8 * g + j) + l] = UInt8(truncatingIfNeeded: LT[l][j]) }
                    }
                }
                var maxScale: Float = 0
                var maxMin: Float = 0
                for j in 0..<16 {
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if mins[j] > maxMin { maxMin = mins[j] }
                }
                if maxScale > 0 {
                    let iscale = q4scale / maxScale
                    for j in 0..<16 {
                        y[yb + j] = UInt8(truncatingIfNeeded: nearestInt(iscale * scales[j]))
                    }
                    y.storeHalf(maxScale / q4scale, at: yb + 80)
                } else {
                    for j in 0..<16 { y[yb + j] = 0 }
                    y.storeHalf(0, at: yb + 80)
                }
                if maxMin > 0 {
                    let iscale = q4scale / maxMin
                    for j in 0..<16 {
                        let l = nearestInt(iscale * mins[j])
                        y[yb + j] |= UInt8(truncatingIfNeeded: l << 4)
                    }
                    y.storeHalf(maxMin / q4scale, at: yb + 82)
                } else {
                    y.storeHalf(0, at: yb + 82)
                }
                let dAll = UnsafeRawBufferPointer(y).loadHalf(at: yb + 80)
                let dminAll = UnsafeRawBufferPointer(y).loadHalf(at: yb + 82)
                for j in 0..<16 {
                    let d = dAll * Float(y[yb + j] & 0xF)
                    if d == 0 { continue }
                    let dm = dminAll * Float(y[yb + j] >> 4)
                    for ii in 0..<16 {
                        var l = Int(nearestInt((xb[16 * j + ii] + dm) / d))
                        l = max(0, min(3, l))
                        L[16 * j + ii] = UInt8(l)
                    }
                }
                for j in stride(from: 0, to: 256, by: 128) {
                    for l in 0..<32 {
                        y[yb + 16 + j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)
                    }
                }
            }
          }
        }
    }

    // MARK: Q3_K — block: hmask[32], qs[64], scales[12] (6-bit), fp16 d (110 bytes)

    /// quantize_row_q3_K_ref
    public static func quantizeQ3_K(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 110, "Q3_K needs 256-element blocks and 110 bytes per block")
        withScratch { _, scales, _, L in
          withLaneScratch { xT, _, LT, _ in
            for i in 0..<nb {
                let xb = x.baseAddress! + i * 256
                let yb = i * 110
                let sc0 = yb + 96  // scales[12]
                // make_q3_quants(16, 4, x, L, true) on sub-blocks 0-7, then 8-15.
                for g in 0..<2 {
                    KQuantSearchLanes.transpose(xb + 128 * g, stride: 16, count: 16, into: xT)
                    let s = KQuantSearchLanes.makeQ3Quants(n: 16, nmax: 4, x: xT, L: LT)
                    for j in 0..<8 {
                        scales[8 * g + j] = s[j]
                        for l in 0..<16 { L[16 * (8 * g + j) + l] = Int8(truncatingIfNeeded: LT[l][j]) }
                    }
                }
                var maxScale: Float = 0
                var amax: Float = 0
                for j in 0..<16 {
                    let scale = abs(scales[j])
                    if scale > amax {
                        amax = scale
                        maxScale = scales[j]
                    }
                }
                for k in 0..<12 { y[sc0 + k] = 0 }
                if maxScale != 0 {
                    let iscale = -32 / maxScale
                    for j in 0..<16 {
                        // C: int8_t l = nearest_int(...); l = MAX(-32, MIN(31, l)) + 32;
                        let l8 = Int8(truncatingIfNeeded: nearestInt(iscale * scales[j]))
                        let l = UInt8(truncatingIfNeeded: max(-32, min(31, Int(l8))) + 32)
                        if j < 8 {
                            y[sc0 + j] = l & 0xF
                        } else {
                            y[sc0 + j - 8] |= (l & 0xF) << 4
                        }
                        y[sc0 + j % 4 + 8] |= (l >> 4) << UInt8(2 * (j / 4))
                    }
                    y.storeHalf(1 / iscale, at: yb + 108)
                } else {
                    y.storeHalf(0, at: yb + 108)
                }
                let dAll = UnsafeRawBufferPointer(y).loadHalf(at: yb + 108)
                for j in 0..<16 {
                    let low = j < 8 ? y[sc0 + j] & 0xF : y[sc0 + j - 8] >> 4
                    let high = (y[sc0 + 8 + j % 4] >> UInt8(2 * (j / 4))) & 3
                    let sc = Int(low | (high << 4)) - 32
                    let d = dAll * Float(sc)
                    if d == 0 { continue }
                    for ii in 0..<16 {
                        var l = Int(nearestInt(xb[16 * j + ii] / d))
                        l = max(-4, min(3, l))
                        L[16 * j + ii] = Int8(l + 4)
                    }
                }
                // High bit of the 1st 32 quants into bit 0 of hmask[0..<32], the next 32 into
                // bit 1, and so on.
                for k in 0..<32 { y[yb + k] = 0 }
                var m = 0
                var hm: UInt8 = 1
                for j in 0..<256 {
                    if L[j] > 3 {
                        y[yb + m] |= hm
                        L[j] -= 4
                    }
                    m += 1
                    if m == 32 {
                        m = 0
                        hm = hm &<< 1
                    }
                }
                for j in stride(from: 0, to: 256, by: 128) {
                    for l in 0..<32 {
                        let q = UInt8(bitPattern: L[j + l]) | (UInt8(bitPattern: L[j + l + 32]) << 2)
                            | (UInt8(bitPattern: L[j + l + 64]) << 4) | (UInt8(bitPattern: L[j + l + 96]) << 6)
                        y[yb + 32 + j / 4 + l] = q
                    }
                }
            }
          }
        }
    }

    // MARK: Q4_K — block: fp16 d, fp16 dmin, scales[12] (6-bit scales and mins), qs[128] (144 bytes)

    /// quantize_row_q4_K_ref
    public static func quantizeQ4_K(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 144, "Q4_K needs 256-element blocks and 144 bytes per block")
        withScratch { L, scales, mins, _ in
          withLaneScratch { xT, wT, LT, Laux in
            let lanes = (xT, wT, LT, Laux)
            for i in 0..<nb {
                let xb = x.baseAddress! + i * 256
                let yb = i * 144
                searchSubBlockScales(xb, nmax: 15, rmin: -1, rdelta: 0.1, nstep: 20, L: L, lanes: lanes, scales: scales, mins: mins, y: y, yb: yb)
                requantizeSubBlocks(xb, nmax: 15, L: L, y: y, yb: yb)
                for j in stride(from: 0, to: 256, by: 64) {
                    for l in 0..<32 {
                        y[yb + 16 + j / 2 + l] = L[j + l] | (L[j + l + 32] << 4)
                    }
                }
            }
          }
        }
    }

    // MARK: Q5_K — block: fp16 d, fp16 dmin, scales[12], qh[32], qs[128] (176 bytes)

    /// quantize_row_q5_K_ref
    public static func quantizeQ5_K(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 176, "Q5_K needs 256-element blocks and 176 bytes per block")
        withScratch { L, scales, mins, _ in
          withLaneScratch { xT, wT, LT, Laux in
            let lanes = (xT, wT, LT, Laux)
            for i in 0..<nb {
                let xb = x.baseAddress! + i * 256
                let yb = i * 176
                searchSubBlockScales(xb, nmax: 31, rmin: -0.5, rdelta: 0.1, nstep: 15, L: L, lanes: lanes, scales: scales, mins: mins, y: y, yb: yb)
                requantizeSubBlocks(xb, nmax: 31, L: L, y: y, yb: yb)
                let qh = yb + 16
                let ql = yb + 48
                for k in 0..<32 { y[qh + k] = 0 }
                var m1: UInt8 = 1
                var m2: UInt8 = 2
                for n in stride(from: 0, to: 256, by: 64) {
                    for j in 0..<32 {
                        var l1 = L[n + j]
                        if l1 > 15 {
                            l1 -= 16
                            y[qh + j] |= m1
                        }
                        var l2 = L[n + j + 32]
                        if l2 > 15 {
                            l2 -= 16
                            y[qh + j] |= m2
                        }
                        y[ql + n / 2 + j] = l1 | (l2 &<< 4)
                    }
                    m1 = m1 &<< 2
                    m2 = m2 &<< 2
                }
            }
          }
        }
    }

    /// The first half of quantize_row_q4_K_ref / q5_K_ref: per 32-element sub-block weights
    /// sqrt(mean x²) + |x|, make_qkx2_quants (all eight sub-blocks at once, see
    /// KQuantSearchLanes), then 6-bit scales and mins relative to the largest, packed into the
    /// 12 scale bytes, and fp16 d = max_scale/63, dmin = max_min/63.
    @inline(__always)
    private static func searchSubBlockScales(
        _ xb: UnsafePointer<Float>, nmax: Int, rmin: Float, rdelta: Float, nstep: Int,
        L: UnsafeMutablePointer<UInt8>, lanes: LaneScratch,
        scales: UnsafeMutablePointer<Float>, mins: UnsafeMutablePointer<Float>,
        y: UnsafeMutableRawBufferPointer, yb: Int
    ) {
        let (xT, wT, LT, Laux) = lanes
        KQuantSearchLanes.transpose(xb, stride: 32, count: 32, into: xT)
        var sumX2 = KQuantSearchLanes.Floats()
        for l in 0..<32 { sumX2 += xT[l] * xT[l] }
        let avX = (sumX2 / 32).squareRoot()
        for l in 0..<32 { wT[l] = avX + KQuantSearchLanes.abs(xT[l]) }
        var theMin = KQuantSearchLanes.Floats()
        let s = KQuantSearchLanes.makeQkx2Quants(
            n: 32, nmax: Int32(nmax), x: xT, weights: wT, L: LT, theMin: &theMin,
            Laux: Laux, rmin: rmin, rdelta: rdelta, nstep: nstep, useMAD: false)
        var maxScale: Float = 0
        var maxMin: Float = 0
        for j in 0..<8 {
            scales[j] = s[j]
            mins[j] = theMin[j]
            for l in 0..<32 { L[32 * j + l] = UInt8(truncatingIfNeeded: LT[l][j]) }
            if scales[j] > maxScale { maxScale = scales[j] }
            if mins[j] > maxMin { maxMin = mins[j] }
        }
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        let sc = yb + 4
        for j in 0..<8 {
            // C: uint8_t ls = nearest_int(...); ls = MIN(63, ls);
            let ls = min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
            let lm = min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
            if j < 4 {
                y[sc + j] = ls
                y[sc + j + 4] = lm
            } else {
                y[sc + j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
                y[sc + j - 4] |= (ls >> 4) << 6
                y[sc + j] |= (lm >> 4) << 6
            }
        }
        y.storeHalf(maxScale / 63, at: yb)
        y.storeHalf(maxMin / 63, at: yb + 2)
    }

    /// The second half: requantize each sub-block with the fp16-rounded d·scale and dmin·min.
    @inline(__always)
    private static func requantizeSubBlocks(
        _ xb: UnsafePointer<Float>, nmax: Int, L: UnsafeMutablePointer<UInt8>, y: UnsafeMutableRawBufferPointer, yb: Int
    ) {
        let ro = UnsafeRawBufferPointer(y)
        let dAll = ro.loadHalf(at: yb)
        let dminAll = ro.loadHalf(at: yb + 2)
        for j in 0..<8 {
            let (sc, m) = scaleMinK4(j, ro, at: yb + 4)
            let d = dAll * Float(sc)
            if d == 0 { continue }
            let dm = dminAll * Float(m)
            for ii in 0..<32 {
                var l = Int(nearestInt((xb[32 * j + ii] + dm) / d))
                l = max(0, min(nmax, l))
                L[32 * j + ii] = UInt8(l)
            }
        }
    }

    /// get_scale_min_k4: the j-th 6-bit scale and min of the 12 packed scale bytes at `offset`.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawBufferPointer, at offset: Int) -> (UInt8, UInt8) {
        if j < 4 {
            return (q[offset + j] & 63, q[offset + j + 4] & 63)
        }
        let d = (q[offset + j + 4] & 0xF) | ((q[offset + j - 4] >> 6) << 4)
        let m = (q[offset + j + 4] >> 4) | ((q[offset + j] >> 6) << 4)
        return (d, m)
    }

    // MARK: Q6_K — block: ql[128], qh[64], int8 scales[16], fp16 d (210 bytes)

    /// quantize_row_q6_K_ref
    public static func quantizeQ6_K(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableRawBufferPointer) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 210, "Q6_K needs 256-element blocks and 210 bytes per block")
        withScratch { _, scales, _, L in
          withLaneScratch { xT, _, LT, _ in
            for i in 0..<nb {
                let xb = x.baseAddress! + i * 256
                let yb = i * 210
                // make_qx_quants(16, 32, x, L, 1, NULL) on sub-blocks 0-7, then 8-15.
                for g in 0..<2 {
                    KQuantSearchLanes.transpose(xb + 128 * g, stride: 16, count: 16, into: xT)
                    let s = KQuantSearchLanes.makeQxQuants(n: 16, nmax: 32, x: xT, L: LT)
                    for j in 0..<8 {
                        scales[8 * g + j] = s[j]
                        for l in 0..<16 { L[16 * (8 * g + j) + l] = Int8(truncatingIfNeeded: LT[l][j]) }
                    }
                }
                var maxScale: Float = 0
                var maxAbsScale: Float = 0
                for ib in 0..<16 {
                    let scale = scales[ib]
                    let absScale = abs(scale)
                    if absScale > maxAbsScale {
                        maxAbsScale = absScale
                        maxScale = scale
                    }
                }
                if maxAbsScale < KQuantSearchLanes.groupMaxEps {
                    for k in 0..<210 { y[yb + k] = 0 }
                    y.storeHalf(0, at: yb + 208)
                    continue
                }
                let iscale = -128 / maxScale
                y.storeHalf(1 / iscale, at: yb + 208)
                for ib in 0..<16 {
                    y[yb + 192 + ib] = UInt8(truncatingIfNeeded: min(127, nearestInt(iscale * scales[ib])))
                }
                let dAll = UnsafeRawBufferPointer(y).loadHalf(at: yb + 208)
                for j in 0..<16 {
                    let d = dAll * Float(Int8(bitPattern: y[yb + 192 + j]))
                    if d == 0 { continue }
                    for ii in 0..<16 {
                        var l = Int(nearestInt(xb[16 * j + ii] / d))
                        l = max(-32, min(31, l))
                        L[16 * j + ii] = Int8(l + 32)
                    }
                }
                for j in stride(from: 0, to: 256, by: 128) {
                    let ql = yb + j / 2
                    let qh = yb + 128 + j / 4
                    for l in 0..<32 {
                        let a = UInt8(bitPattern: L[j + l])
                        let b = UInt8(bitPattern: L[j + l + 32])
                        let c = UInt8(bitPattern: L[j + l + 64])
                        let e = UInt8(bitPattern: L[j + l + 96])
                        y[ql + l] = (a & 0xF) | ((c & 0xF) << 4)
                        y[ql + l + 32] = (b & 0xF) | ((e & 0xF) << 4)
                        y[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6)
                    }
                }
            }
          }
        }
    }

    typealias LaneScratch = (
        UnsafeMutablePointer<KQuantSearchLanes.Floats>, UnsafeMutablePointer<KQuantSearchLanes.Floats>,
        UnsafeMutablePointer<KQuantSearchLanes.Ints>, UnsafeMutablePointer<KQuantSearchLanes.Ints>
    )

    /// Scratch for the eight-lane searches: transposed x and weights, levels and candidate
    /// levels, 32 vectors each.
    @inline(__always)
    private static func withLaneScratch(
        _ body: (UnsafeMutablePointer<KQuantSearchLanes.Floats>, UnsafeMutablePointer<KQuantSearchLanes.Floats>,
                 UnsafeMutablePointer<KQuantSearchLanes.Ints>, UnsafeMutablePointer<KQuantSearchLanes.Ints>) -> Void
    ) {
        withUnsafeTemporaryAllocation(of: KQuantSearchLanes.Floats.self, capacity: 64) { f in
            withUnsafeTemporaryAllocation(of: KQuantSearchLanes.Ints.self, capacity: 64) { i in
                f.initialize(repeating: .zero)
                i.initialize(repeating: .zero)
                body(f.baseAddress!, f.baseAddress! + 32, i.baseAddress!, i.baseAddress! + 32)
            }
        }
    }

    /// Stack scratch space shared by the K-quant kernels: L (u8, 256), scales (f32, 16), mins
    /// (f32, 16) and a signed L (i8, 256).
    @inline(__always)
    private static func withScratch(
        _ body: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                 UnsafeMutablePointer<Int8>) -> Void
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { u8 in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { f32 in
                withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { i8 in
                    u8.initialize(repeating: 0)
                    f32.initialize(repeating: 0)
                    i8.initialize(repeating: 0)
                    body(u8.baseAddress!, f32.baseAddress!, f32.baseAddress! + 16, i8.baseAddress!)
                }
            }
        }
    }
}
