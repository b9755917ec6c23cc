import LineageTestSupport
import Foundation
import GGUF
@testable import WeightFormats

enum QuantizationTestSupport {
    static func quantize(_ values: [Float], as type: GGMLType) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.rowSize(elements: values.count)!)
        try values.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBytes { dst in
                // Row by row, as the converter will call it.
                let rowBytes = type.rowSize(elements: QuantizationInputs.rowLength)!
                for r in 0..<(values.count / QuantizationInputs.rowLength) {
                    let row = UnsafeBufferPointer(rebasing: src[(r * QuantizationInputs.rowLength)..<((r + 1) * QuantizationInputs.rowLength)])
                    let slot = UnsafeMutableRawBufferPointer(rebasing: dst[(r * rowBytes)..<((r + 1) * rowBytes)])
                    try GGMLQuantizer.quantizeRow(row, as: type, into: slot)
                }
            }
        }
        return out
    }

    static func dequantize(_ bytes: [UInt8], as type: GGMLType, count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try bytes.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { try GGMLQuantizer.dequantizeRow(src, as: type, into: $0) }
        }
        return out
    }

    static func writeFloats(_ values: [Float], to url: URL) throws {
        let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        try data.write(to: url)
    }

    static func readFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// gguf-py's quantization of `values` (rows of 256).
    static func referenceQuantize(_ values: [Float], as type: GGMLType, in dir: URL) throws -> [UInt8] {
        let input = dir.appendingPathComponent("in-\(type).f32")
        let output = dir.appendingPathComponent("out-\(type).bin")
        try writeFloats(values, to: input)
        _ = try TestSupport.runPython("quant_check.py", ["quantize", "\(type)", input.path, output.path, "\(QuantizationInputs.rowLength)"])
        return Array(try Data(contentsOf: output))
    }

    /// gguf-py's dequantization of `bytes` (rows of 256 elements).
    static func referenceDequantize(_ bytes: [UInt8], as type: GGMLType, in dir: URL) throws -> [Float] {
        let input = dir.appendingPathComponent("in-\(type).bin")
        let output = dir.appendingPathComponent("out-\(type).f32")
        try Data(bytes).write(to: input)
        _ = try TestSupport.runPython("quant_check.py", ["dequantize", "\(type)", input.path, output.path, "\(QuantizationInputs.rowLength)"])
        return try readFloats(output)
    }

    /// Index of the first block whose bytes differ, for a readable failure.
    static func firstDifferentBlock(_ a: [UInt8], _ b: [UInt8], blockBytes: Int) -> Int? {
        guard a.count == b.count else { return -1 }
        for block in 0..<(a.count / blockBytes) {
            let r = (block * blockBytes)..<((block + 1) * blockBytes)
            if a[r] != b[r] { return block }
        }
        return nil
    }

    /// Bitwise float equality that treats any two NaNs as equal.
    static func sameFloats(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }
}
