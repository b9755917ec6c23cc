/// The K-quant scale searches run on eight sub-blocks at once: lane j of every vector belongs
/// to sub-block j, and each lane performs exactly the scalar algorithm of ggml-quants.c
/// (make_qkx2_quants, make_qx_quants, make_q3_quants) on its own data, in the same order, with
/// the same roundings. Branches become per-lane selects, so the results are bit-for-bit those
/// of the C reference; only the throughput changes.
///
/// Float arithmetic keeps C's left-to-right evaluation and conversions: `w*x[i]*l` is
/// `(w * x[i]) * Float(l)`, `w*l*l` is `(w * Float(l)) * Float(l)`. Nothing is fused (see
/// LegacyQuantization). Rounding is nearest_int (half to even), not roundf.
///
/// Why across sub-blocks and not across candidate scales or elements: the searches accumulate
/// sums element by element (a different order would round differently) and make_qkx2_quants
/// feeds each accepted candidate's minimum into the next candidate (a sequential dependency),
/// but the sub-blocks of a super-block are independent problems.
enum KQuantSearchLanes {
    typealias Floats = SIMD8<Float>
    typealias Ints = SIMD8<Int32>
    static let width = 8

    /// GROUP_MAX_EPS in ggml-quants.c: below this a group counts as all zero.
    static let groupMaxEps: Float = 1e-15

    /// nearest_int on every lane: the same bit trick as the scalar version.
    @inline(__always)
    static func nearestInt(_ v: Floats) -> Ints {
        let biased = v + 12_582_912.0
        let bits = unsafeBitCast(biased, to: Ints.self)
        return (bits & 0x007F_FFFF) &- 0x0040_0000
    }

    /// fabsf on every lane (clearing the sign bit, as fabsf does).
    @inline(__always)
    static func abs(_ v: Floats) -> Floats {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Floats.self)
    }

    /// MAX(low, MIN(high, v)) on every lane. (Written with vector selects: the standard
    /// library's clamped(lowerBound:upperBound:) and the scalar forms of replace/compare are
    /// generic calls that are not inlined.)
    @inline(__always)
    static func clamp(_ v: Ints, _ low: Int32, _ high: Int32) -> Ints {
        let lo = Ints(repeating: low), hi = Ints(repeating: high)
        return select(v .< lo, lo, select(v .> hi, hi, v))
    }

    @inline(__always)
    static func select(_ mask: SIMDMask<Ints>, _ a: Floats, _ b: Floats) -> Floats {
        var r = b
        r.replace(with: a, where: mask)
        return r
    }

    @inline(__always)
    static func select(_ mask: SIMDMask<Ints>, _ a: Ints, _ b: Ints) -> Ints {
        var r = b
        r.replace(with: a, where: mask)
        return r
    }

    /// Loads element i of eight sub-blocks of `n` values that lie `stride` apart.
    @inline(__always)
    static func transpose(_ x: UnsafePointer<Float>, stride: Int, count n: Int, into out: UnsafeMutablePointer<Floats>) {
        for i in 0..<n {
            out[i] = Floats(x[i], x[stride + i], x[2 * stride + i], x[3 * stride + i],
                            x[4 * stride + i], x[5 * stride + i], x[6 * stride + i], x[7 * stride + i])
        }
    }

    /// make_qkx2_quants for eight sub-blocks of `n` values. `x` and `weights` are transposed
    /// (element i of every lane in `x[i]`); the chosen levels come back in `L[i]`, the minimum
    /// (negated, as `*the_min`) in `theMin`, the scale as the result. `Laux` is scratch for
    /// `n` vectors.
    static func makeQkx2Quants(
        n: Int, nmax: Int32, x: UnsafePointer<Floats>, weights: UnsafePointer<Floats>,
        L: UnsafeMutablePointer<Ints>, theMin: inout Floats, Laux: UnsafeMutablePointer<Ints>,
        rmin: Float, rdelta: Float, nstep: Int, useMAD: Bool
    ) -> Floats {
        var min = x[0]
        var max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            min = select(x[i] .< min, x[i], min)
            max = select(x[i] .> max, x[i], max)
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        min = select(min .> 0, Floats(repeating: 0), min)
        let flat = max .== min

        var iscale = Float(nmax) / (max - min)
        var scale = 1 / iscale
        var bestError = Floats(repeating: 0)
        for i in 0..<n {
            let l = clamp(nearestInt(iscale * (x[i] - min)), 0, nmax)
            L[i] = l
            var diff = scale * Floats(l) + min - x[i]
            diff = useMAD ? abs(diff) : diff * diff
            bestError += weights[i] * diff
        }
        if nstep >= 1 {
            for step in 0...nstep {
                iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (max - min)
                var sumL = Floats(repeating: 0)
                var sumL2 = Floats(repeating: 0)
                var sumXL = Floats(repeating: 0)
                for i in 0..<n {
                    let li = clamp(nearestInt(iscale * (x[i] - min)), 0, nmax)
                    Laux[i] = li
                    let l = Floats(li)
                    let wl = weights[i] * l
                    sumL += wl
                    sumL2 += wl * l
                    sumXL += wl * x[i]
                }
                let D = sumW * sumL2 - sumL * sumL
                let solvable = D .> 0
                if !any(solvable) { continue }
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                let positive = thisMin .> 0
                thisMin = select(positive, Floats(repeating: 0), thisMin)
                thisScale = select(positive, sumXL / sumL2, thisScale)
                var curError = Floats(repeating: 0)
                for i in 0..<n {
                    var diff = thisScale * Floats(Laux[i]) + thisMin - x[i]
                    diff = useMAD ? abs(diff) : diff * diff
                    curError += weights[i] * diff
                }
                let better = solvable .& (curError .< bestError)
                if !any(better) { continue }
                for i in 0..<n { L[i] = select(better, Laux[i], L[i]) }
                bestError = select(better, curError, bestError)
                scale = select(better, thisScale, scale)
                min = select(better, thisMin, min)
            }
        }
        // A constant sub-block (max == min): all levels 0, scale 0.
        if any(flat) {
            for i in 0..<n { L[i] = select(flat, Ints(repeating: 0), L[i]) }
            scale = select(flat, Floats(repeating: 0), scale)
        }
        theMin = -min
        return scale
    }

    /// make_qx_quants with rmse_type 1 (weights x², the only form the K-quants use without an
    /// importance matrix) for eight sub-blocks of `n` values: symmetric levels in
    /// [-nmax, nmax-1], returned + nmax in `L`.
    static func makeQxQuants(n: Int, nmax: Int32, x: UnsafePointer<Floats>, L: UnsafeMutablePointer<Ints>) -> Floats {
        var max = Floats(repeating: 0)
        var amax = Floats(repeating: 0)
        for i in 0..<n {
            let ax = abs(x[i])
            let larger = ax .> amax
            amax = select(larger, ax, amax)
            max = select(larger, x[i], max)
        }
        let empty = amax .< groupMaxEps
        let fn = Float(nmax)
        var iscale = -fn / max
        var sumlx = Floats(repeating: 0)
        var suml2 = Floats(repeating: 0)
        for i in 0..<n {
            let l = clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1)
            L[i] = l &+ nmax
            let w = x[i] * x[i]
            let fl = Floats(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        var scale = select(suml2 .!= 0, sumlx / suml2, Floats(repeating: 0))
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(fn + 0.1 * Float(step)) / max
            sumlx = Floats(repeating: 0)
            suml2 = Floats(repeating: 0)
            for i in 0..<n {
                let fl = Floats(clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1))
                let w = x[i] * x[i]
                sumlx += w * x[i] * fl
                suml2 += w * fl * fl
            }
            let better = (suml2 .> 0) .& (sumlx * sumlx .> best * suml2)
            if !any(better) { continue }
            for i in 0..<n {
                let l = clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1) &+ nmax
                L[i] = select(better, l, L[i])
            }
            scale = select(better, sumlx / suml2, scale)
            best = select(better, scale * sumlx, best)
        }
        if any(empty) {
            for i in 0..<n { L[i] = select(empty, Ints(repeating: 0), L[i]) }
            scale = select(empty, Floats(repeating: 0), scale)
        }
        return scale
    }

    /// make_q3_quants with do_rmse (the form quantize_row_q3_K_ref uses) for eight sub-blocks
    /// of `n` values: symmetric levels in [-nmax, nmax-1], then up to five passes of coordinate
    /// descent that move one level at a time when that improves the weighted fit; levels come
    /// back + nmax in `L`. A lane whose pass changed nothing would change nothing in the next
    /// pass either (the pass is a function of the lane's state), so running the other lanes'
    /// extra passes on it is the same as C's early `break`.
    static func makeQ3Quants(n: Int, nmax: Int32, x: UnsafePointer<Floats>, L: UnsafeMutablePointer<Ints>) -> Floats {
        var max = Floats(repeating: 0)
        var amax = Floats(repeating: 0)
        for i in 0..<n {
            let ax = abs(x[i])
            let larger = ax .> amax
            amax = select(larger, ax, amax)
            max = select(larger, x[i], max)
        }
        let empty = amax .< groupMaxEps
        let iscale = -Float(nmax) / max
        var sumlx = Floats(repeating: 0)
        var suml2 = Floats(repeating: 0)
        for i in 0..<n {
            let l = clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1)
            L[i] = l
            let w = x[i] * x[i]
            let fl = Floats(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        for _ in 0..<5 {
            var changed = SIMDMask<Ints>(repeating: false)
            for i in 0..<n {
                let w = x[i] * x[i]
                let li = Floats(L[i])
                var slx = sumlx - w * x[i] * li
                var sl2 = suml2 - w * li * li
                let newL = clamp(nearestInt(x[i] * sl2 / slx), -nmax, nmax - 1)
                let differs = (slx .> 0) .& (newL .!= L[i])
                if !any(differs) { continue }
                let fn = Floats(newL)
                slx += w * x[i] * fn
                sl2 += w * fn * fn
                let accept = differs .& (sl2 .> 0) .& (slx * slx * suml2 .> sumlx * sumlx * sl2)
                L[i] = select(accept, newL, L[i])
                sumlx = select(accept, slx, sumlx)
                suml2 = select(accept, sl2, suml2)
                changed = changed .| accept
            }
            if !any(changed) { break }
        }
        for i in 0..<n { L[i] = select(empty, Ints(repeating: 0), L[i] &+ nmax) }
        return select(empty, Floats(repeating: 0), sumlx / suml2)
    }
}
