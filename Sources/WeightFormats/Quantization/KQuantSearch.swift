/// The scale searches shared by ggml's K-quant reference quantizers (ggml-quants.c):
/// make_qx_quants, make_q3_quants and make_qkx2_quants, ported statement by statement.
///
/// Float arithmetic keeps C's left-to-right evaluation and conversions: `w*x[i]*l` is
/// `(w * x[i]) * Float(l)`, `w*l*l` is `(w * Float(l)) * Float(l)`. Nothing is fused (see
/// LegacyQuantization). Rounding is nearest_int (half to even), not roundf.
enum KQuantSearch {
    /// GROUP_MAX_EPS in ggml-quants.c: below this a group counts as all zero.
    static let groupMaxEps: Float = 1e-15

    /// make_qx_quants: symmetric quantization of `n` values to [-nmax, nmax-1] (stored + nmax in
    /// `L`), searching 19 candidate scales around -nmax/max for the best weighted fit.
    /// `rmseType` selects the weights when `qw` is nil: 1 = x², 2 = 1, 3 = |x|, else sqrt|x|;
    /// 0 skips the search; a negative type returns early with an averaged scale.
    static func makeQxQuants(
        n: Int, nmax: Int, x: UnsafePointer<Float>, L: UnsafeMutablePointer<Int8>, rmseType: Int,
        qw: UnsafePointer<Float>?
    ) -> Float {
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
        var iscale = Float(-nmax) / max
        if rmseType == 0 {
            for i in 0..<n {
                let l = Int(nearestInt(iscale * x[i]))
                L[i] = Int8(truncatingIfNeeded: nmax + Swift.max(-nmax, Swift.min(nmax - 1, l)))
            }
            return 1 / iscale
        }
        var rmse = rmseType
        var returnEarly = false
        if rmse < 0 {
            rmse = -rmse
            returnEarly = true
        }
        @inline(__always) func weight(_ i: Int) -> Float {
            if let qw { return qw[i] }
            switch rmse {
            case 1: return x[i] * x[i]
            case 2: return 1
            case 3: return abs(x[i])
            default: return abs(x[i]).squareRoot()
            }
        }
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0..<n {
            var l = Int(nearestInt(iscale * x[i]))
            l = Swift.max(-nmax, Swift.min(nmax - 1, l))
            L[i] = Int8(truncatingIfNeeded: l + nmax)
            let w = weight(i)
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        if returnEarly {
            return suml2 > 0 ? 0.5 * (scale + 1 / iscale) : 1 / iscale
        }
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / max
            sumlx = 0
            suml2 = 0
            for i in 0..<n {
                var l = Int(nearestInt(iscale * x[i]))
                l = Swift.max(-nmax, Swift.min(nmax - 1, l))
                let w = weight(i)
                let fl = Float(l)
                sumlx += w * x[i] * fl
                suml2 += w * fl * fl
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0..<n {
                    let l = Int(nearestInt(iscale * x[i]))
                    L[i] = Int8(truncatingIfNeeded: nmax + Swift.max(-nmax, Swift.min(nmax - 1, l)))
                }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

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

    /// make_qkx2_quants: asymmetric quantization to [0, nmax] with a minimum (returned negated
    /// in `theMin`), trying nstep+1 inverse scales (rmin + rdelta*k + nmax)/(max - min) and
    /// solving weighted least squares for scale and offset; keeps the lowest weighted error
    /// (absolute when `useMAD`, squared otherwise).
    static func makeQkx2Quants(
        n: Int, nmax: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        L: UnsafeMutablePointer<UInt8>, theMin: inout Float, Laux: UnsafeMutablePointer<UInt8>,
        rmin: Float, rdelta: Float, nstep: Int, useMAD: Bool
    ) -> Float {
        var min = x[0]
        var max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if min > 0 { min = 0 }
        if max == min {
            for i in 0..<n { L[i] = 0 }
            theMin = -min
            return 0
        }
        var iscale = Float(nmax) / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = Int(nearestInt(iscale * (x[i] - min)))
            L[i] = UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(nmax, l)))
            var diff = scale * Float(L[i]) + min - x[i]
            diff = useMAD ? abs(diff) : diff * diff
            bestError += weights[i] * diff
        }
        if nstep < 1 {
            theMin = -min
            return scale
        }
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (max - min)
            var sumL: Float = 0
            var sumL2: Float = 0
            var sumXL: Float = 0
            for i in 0..<n {
                var l = Int(nearestInt(iscale * (x[i] - min)))
                l = Swift.max(0, Swift.min(nmax, l))
                Laux[i] = UInt8(truncatingIfNeeded: l)
                let w = weights[i]
                let fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var curError: Float = 0
                for i in 0..<n {
                    var diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                    diff = useMAD ? abs(diff) : diff * diff
                    curError += weights[i] * diff
                }
                if curError < bestError {
                    for i in 0..<n { L[i] = Laux[i] }
                    bestError = curError
                    scale = thisScale
                    min = thisMin
                }
            }
        }
        theMin = -min
        return scale
    }
}
