import Foundation
import LineageTestSupport

/// Deterministic awkward inputs for the quantization tests. Every set is a whole number of
/// 256-element rows so the same data serves the 32-element and the 256-element block types.
enum QuantizationInputs {
    typealias Generator = SeededGenerator

    static let rowLength = 256

    static func normal(_ count: Int, scale: Float, seed: UInt64) -> [Float] {
        var g = Generator(state: seed)
        return (0..<count).map { _ in g.normal() * scale }
    }

    /// Named input sets; all NaN-free.
    static let sets: [(name: String, values: [Float])] = {
        var sets: [(String, [Float])] = []
        // Typical transformer weights, several rows.
        sets.append(("normal", normal(8 * 256, scale: 0.02, seed: 1)))
        // Block-to-block scale from 1e-4 to 1e4, with an outlier per block.
        var wide = normal(8 * 256, scale: 1, seed: 2)
        for b in 0..<(wide.count / 32) {
            let s = Float(pow(10.0, Double(b % 9) - 4))
            for j in 0..<32 { wide[b * 32 + j] *= s }
            wide[b * 32 + (b * 7) % 32] *= 12
        }
        sets.append(("wide-range", wide))
        sets.append(("zeros", [Float](repeating: 0, count: 512)))
        // Largest magnitude appears as +a and -a: the first one must win.
        var ties = normal(4 * 256, scale: 0.1, seed: 3)
        for b in 0..<(ties.count / 32) {
            let a: Float = 0.75
            let first = (b * 5) % 16, second = 16 + (b * 3) % 16
            ties[b * 32 + first] = b % 2 == 0 ? a : -a
            ties[b * 32 + second] = b % 2 == 0 ? -a : a
            if b % 4 == 3 {  // three-way tie and a constant block
                for j in 0..<32 { ties[b * 32 + j] = j % 3 == 0 ? -a : a }
            }
        }
        sets.append(("ties", ties))
        // Subnormal floats, mixed with zeros and with normal tiny values.
        var g = Generator(state: 4)
        let subnormals: [Float] = (0..<(2 * 256)).map { i in
            if i % 11 == 0 { return 0 }
            let bits = UInt32(g.next() % 0x007F_FFFF) | (i % 2 == 0 ? 0x8000_0000 : 0)
            return i < 256 ? Float(bitPattern: bits) : Float(bitPattern: bits) * 1e20
        }
        sets.append(("subnormal", subnormals))
        // Huge magnitudes: fp16 overflow of the scale (> 65504 * 127), up to 1e30.
        var huge = normal(2 * 256, scale: 1, seed: 5)
        for i in 0..<huge.count { huge[i] *= Float(pow(10.0, Double(i % 31))) }
        sets.append(("huge", huge))
        // fp16 boundary: values around 65504 and the fp16 subnormal range.
        var boundary: [Float] = []
        for i in 0..<256 { boundary.append((i % 2 == 0 ? 1 : -1) * (65504 + Float(i) * 8)) }
        for i in 0..<256 { boundary.append(Float(i - 128) * 6.0e-8) }
        sets.append(("fp16-boundary", boundary))
        sets.append(("negative-only", normal(4 * 256, scale: 0.05, seed: 6).map { -abs($0) - 0.001 }))
        sets.append(("positive-only", normal(2 * 256, scale: 3, seed: 7).map { abs($0) }))
        // Exact halves after scaling: Q8_0 with amax 127 gives id = 1, so x.5 values sit on
        // roundf's tie; Q4_0 with max -8 gives id = 1, so x + 8.5 lands on integers.
        var halves: [Float] = []
        for b in 0..<8 {
            var block = (0..<32).map { Float($0 - 16) + 0.5 }
            block[b] = b % 2 == 0 ? 127 : -8
            halves += block
        }
        sets.append(("halves", halves))
        // Small integers and a constant row.
        sets.append(("integers", (0..<512).map { Float(($0 * 37) % 15) - 7 }))
        sets.append(("constant", [Float](repeating: 0.3, count: 256)))
        return sets
    }()
}
