/// make_q3_quants (ggml-quants.c), ported statement by statement, and the constants the K-quant
/// searches share. make_qx_quants and make_qkx2_quants run eight sub-blocks at a time in
/// KQuantSearchLanes.
///
/// Float arithmetic keeps C's left-to-right evaluation and conversions: `w*x[i]*l` is
/// `(w * x[i]) * Float(l)`, `w*l*l` is `(w * Float(l)) * Float(l)`. Nothing is fused (see
/// LegacyQuantization). Rounding is nearest_int (half to even), not roundf.
enum KQuantSearch {
    /// GROUP_MAX_EPS in ggml-quants.c: below this a group counts as all zero.
    static let groupMaxEps: Float = 1e-15

    /// make_q3_quants: symmetric 3-bit quantization with x² weights and, when `doRMSE`, up to 5
    /// passes of coordinate descent on individual levels. Levels are stored + nmax in `L`.
    static func makeQ3Quants(n: Int, nmax: Int, x: UnsafePointer<Float>, L: UnsafeMutablePointer<Int8>, doRMSE: Bool) -> Float {
        var max: Float = 0
        var amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax {
                amax = ax
                max = x[i]
            }
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let iscale = Float(-nmax) / max
        if doRMSE {
            var sumlx: Float = 0
            var suml2: Float = 0
            for i in 0..<n {
                var l = Int(nearestInt(iscale * x[i]))
                l = Swift.max(-nmax, Swift.min(nmax - 1, l))
                L[i] = Int8(truncatingIfNeeded: l)
                let w = x[i] * x[i]
                let fl = Float(l)
                sumlx += w * x[i] * fl
                suml2 += w * fl * fl
            }
            for _ in 0..<5 {
                var changed = 0
                for i in 0..<n {
                    let w = x[i] * x[i]
                    let li = Float(L[i])
                    var slx = sumlx - w * x[i] * li
                    if slx > 0 {
                        var sl2 = suml2 - w * li * li
                        var newL = Int(nearestInt(x[i] * sl2 / slx))
                        newL = Swift.max(-nmax, Swift.min(nmax - 1, newL))
                        if newL != Int(L[i]) {
                            let fn = Float(newL)
                            slx += w * x[i] * fn
                            sl2 += w * fn * fn
                            if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                                L[i] = Int8(truncatingIfNeeded: newL)
                                sumlx = slx
                                suml2 = sl2
                                changed += 1
                            }
                        }
                    }
                }
                if changed == 0 { break }
            }
            for i in 0..<n { L[i] = L[i] &+ Int8(truncatingIfNeeded: nmax) }
            return suml2 > 0 ? sumlx / suml2 : 0
        }
        for i in 0..<n {
            var l = Int(nearestInt(iscale * x[i]))
            l = Swift.max(-nmax, Swift.min(nmax - 1, l))
            L[i] = Int8(truncatingIfNeeded: l + nmax)
        }
        return 1 / iscale
    }
}
