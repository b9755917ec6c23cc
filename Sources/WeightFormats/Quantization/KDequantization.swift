/// Dequantizers for the K-quants, mirroring ggml's dequantize_row_q{2,3,4,5,6}_K operation by
/// operation, so results are bit-identical to ggml's and to gguf-py's dequantize.
public enum KDequantization {
    /// dequantize_row_q2_K: x = d·(sc & 15)·q − dmin·(sc >> 4).
    public static func dequantizeQ2_K(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 84)
        var out = 0
        for i in 0..<nb {
            let yb = i * 84
            let d = y.loadHalf(at: yb + 80)
            let dmin = y.loadHalf(at: yb + 82)
            var q = yb + 16
            var scaleIndex = 0
            for _ in stride(from: 0, to: 256, by: 128) {
                var shift: UInt8 = 0
                for _ in 0..<4 {
                    for half in 0..<2 {
                        let sc = y[yb + scaleIndex]
                        scaleIndex += 1
                        let dl = d * Float(sc & 0xF)
                        let ml = dmin * Float(sc >> 4)
                        for l in 0..<16 {
                            x[out] = dl * Float((y[q + l + 16 * half] >> shift) & 3) - ml
                            out += 1
                        }
                    }
                    shift += 2
                }
                q += 32
            }
        }
    }

    /// dequantize_row_q3_K: x = d·(scale − 32)·(q − (hmask bit ? 0 : 4)).
    public static func dequantizeQ3_K(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 110)
        var out = 0
        for i in 0..<nb {
            let yb = i * 110
            let dAll = y.loadHalf(at: yb + 108)
            let sc0 = yb + 96
            var scales = [Int](repeating: 0, count: 16)
            for j in 0..<16 {
                let low = j < 8 ? y[sc0 + j] & 0xF : y[sc0 + j - 8] >> 4
                let high = (y[sc0 + 8 + j % 4] >> UInt8(2 * (j / 4))) & 3
                scales[j] = Int(low | (high << 4)) - 32
            }
            var q = yb + 32
            var m: UInt8 = 1
            var scaleIndex = 0
            for _ in stride(from: 0, to: 256, by: 128) {
                var shift: UInt8 = 0
                for _ in 0..<4 {
                    for half in 0..<2 {
                        let dl = dAll * Float(scales[scaleIndex])
                        scaleIndex += 1
                        for l in 0..<16 {
                            let k = l + 16 * half
                            let low = Int((y[q + k] >> shift) & 3)
                            let high = (y[yb + k] & m) != 0 ? 0 : 4
                            x[out] = dl * Float(low - high)
                            out += 1
                        }
                    }
                    shift += 2
                    m = m &<< 1
                }
                q += 32
            }
        }
    }

    /// dequantize_row_q4_K: x = d·sc·q − dmin·m per 32-element sub-block.
    public static func dequantizeQ4_K(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 144)
        var out = 0
        for i in 0..<nb {
            let yb = i * 144
            let d = y.loadHalf(at: yb)
            let dmin = y.loadHalf(at: yb + 2)
            var q = yb + 16
            var scaleIndex = 0
            for _ in stride(from: 0, to: 256, by: 64) {
                let (sc1, m1) = KQuantization.scaleMinK4(scaleIndex, y, at: yb + 4)
                let (sc2, m2) = KQuantization.scaleMinK4(scaleIndex + 1, y, at: yb + 4)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 { x[out + l] = d1 * Float(y[q + l] & 0xF) - min1 }
                for l in 0..<32 { x[out + 32 + l] = d2 * Float(y[q + l] >> 4) - min2 }
                out += 64
                q += 32
                scaleIndex += 2
            }
        }
    }

    /// dequantize_row_q5_K: as Q4_K with a fifth bit from qh.
    public static func dequantizeQ5_K(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 176)
        var out = 0
        for i in 0..<nb {
            let yb = i * 176
            let d = y.loadHalf(at: yb)
            let dmin = y.loadHalf(at: yb + 2)
            let qh = yb + 16
            var ql = yb + 48
            var scaleIndex = 0
            var u1: UInt8 = 1
            var u2: UInt8 = 2
            for _ in stride(from: 0, to: 256, by: 64) {
                let (sc1, m1) = KQuantization.scaleMinK4(scaleIndex, y, at: yb + 4)
                let (sc2, m2) = KQuantization.scaleMinK4(scaleIndex + 1, y, at: yb + 4)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 {
                    let q = Int(y[ql + l] & 0xF) + ((y[qh + l] & u1) != 0 ? 16 : 0)
                    x[out + l] = d1 * Float(q) - min1
                }
                for l in 0..<32 {
                    let q = Int(y[ql + l] >> 4) + ((y[qh + l] & u2) != 0 ? 16 : 0)
                    x[out + 32 + l] = d2 * Float(q) - min2
                }
                out += 64
                ql += 32
                scaleIndex += 2
                u1 = u1 &<< 2
                u2 = u2 &<< 2
            }
        }
    }

    /// dequantize_row_q6_K: x = d·scale·(q − 32).
    public static func dequantizeQ6_K(_ y: UnsafeRawBufferPointer, into x: UnsafeMutableBufferPointer<Float>) {
        let nb = x.count / 256
        precondition(x.count % 256 == 0 && y.count == nb * 210)
        for i in 0..<nb {
            let yb = i * 210
            let d = y.loadHalf(at: yb + 208)
            for n in stride(from: 0, to: 256, by: 128) {
                let ql = yb + n / 2
                let qh = yb + 128 + n / 4
                let sc = yb + 192 + n / 16
                for l in 0..<32 {
                    let s = l / 16
                    let h = y[qh + l]
                    let q1 = Int((y[ql + l] & 0xF) | (((h >> 0) & 3) << 4)) - 32
                    let q2 = Int((y[ql + l + 32] & 0xF) | (((h >> 2) & 3) << 4)) - 32
                    let q3 = Int((y[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32
                    let q4 = Int((y[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32
                    let base = i * 256 + n
                    x[base + l] = d * Float(Int8(bitPattern: y[sc + s])) * Float(q1)
                    x[base + l + 32] = d * Float(Int8(bitPattern: y[sc + s + 2])) * Float(q2)
                    x[base + l + 64] = d * Float(Int8(bitPattern: y[sc + s + 4])) * Float(q3)
                    x[base + l + 96] = d * Float(Int8(bitPattern: y[sc + s + 6])) * Float(q4)
                }
            }
        }
    }
}
