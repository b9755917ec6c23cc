import LineageTestSupport
import Foundation
import GGUF
import Testing
@testable import WeightFormats

/// safetensors -> float rows -> quantization kernels -> streaming GGUFWriter, then checked by
/// gguf-py (names, shapes, types, dequantized values) and, when available, by llama.cpp's own
/// GGUF loader (which rejects any offset that is not the running padded sum).
@Suite("safetensors to GGUF end to end")
struct EndToEndTests {
    @Test("a small checkpoint quantized to several types reads back in gguf-py and ggml")
    func pipeline() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        // A tiny "model": bf16 and f16 and f32 weights in PyTorch [rows, cols] order.
        let rows = 4, cols = 512
        let embed = QuantizationInputs.normal(rows * cols, scale: 0.02, seed: 100)
        let ffn = QuantizationInputs.normal(rows * cols, scale: 0.05, seed: 101)
        let norm = (0..<cols).map { 1 + Float($0 % 7) / 100 }
        var st = SafetensorsTestFile()
        st.metadata = ["format": "pt"]
        st.entries = [
            .init(name: "model.embed_tokens.weight", dtype: "BF16", shape: [rows, cols],
                  data: SafetensorsTestFile.le(embed.map(HalfPrecision.bf16Bits))),
            .init(name: "model.layers.0.mlp.down_proj.weight", dtype: "F16", shape: [rows, cols],
                  data: SafetensorsTestFile.le(ffn.map(HalfPrecision.fp16Bits))),
            .init(name: "model.norm.weight", dtype: "F32", shape: [cols], data: SafetensorsTestFile.f32(norm)),
        ]
        let source = try SafetensorsFile(contentsOf: st.write(to: dir.appendingPathComponent("model.safetensors")))

        let plan: [(String, String, GGMLType)] = [
            ("model.embed_tokens.weight", "token_embd.weight", .q6_K),
            ("model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight", .q4_K),
            ("model.norm.weight", "output_norm.weight", .f32),
        ]
        let descriptors = try plan.map { src, dst, type in
            GGUFTensorDescriptor(name: dst, dimensions: try source.requireTensor(named: src).ggmlDimensions, type: type)
        }
        let out = dir.appendingPathComponent("model.gguf")
        let writer = try GGUFWriter(url: out, keyValues: [
            ("general.architecture", .string("llama")),
            ("general.file_type", .uint32(15)),
            ("general.quantization_version", .uint32(2)),
        ], tensors: descriptors)
        var expectedValues: [[Float]] = []
        for (src, _, type) in plan {
            let t = try source.requireTensor(named: src)
            var floats = [Float](repeating: 0, count: t.rowLength)
            var bytes = [UInt8](repeating: 0, count: type.rowSize(elements: t.rowLength)!)
            var decoded: [Float] = []
            for r in 0..<t.rowCount {
                try floats.withUnsafeMutableBufferPointer { try source.readRow(r, of: t, into: $0) }
                try floats.withUnsafeBufferPointer { x in try bytes.withUnsafeMutableBytes { try GGMLQuantizer.quantizeRow(x, as: type, into: $0) } }
                try writer.writeTensorData(bytes)  // one row at a time: the writer streams
                decoded += try QuantizationTestSupport.dequantize(bytes, as: type, count: t.rowLength)
            }
            expectedValues.append(decoded)
        }
        try writer.finish()

        // gguf-py: metadata, shapes, types and dequantized values.
        let reference = try TestSupport.runPythonJSON("gguf_dump.py", [out.path, "--dequantize"])
        let tensors = reference["tensors"] as! [[String: Any]]
        #expect(tensors.map { $0["name"] as! String } == plan.map(\.1))
        #expect(tensors.map { ($0["ne"] as! [Int]).map(UInt64.init) } == descriptors.map(\.dimensions))
        #expect(tensors.map { UInt32($0["type"] as! Int) } == plan.map(\.2.rawValue))
        for (ref, expected) in zip(tensors, expectedValues) {
            let hex = ref["dequantized_hex"] as! String
            let refBytes = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
                let s = hex.index(hex.startIndex, offsetBy: i)
                return UInt8(hex[s...hex.index(after: s)], radix: 16)!
            }
            let refFloats = refBytes.withUnsafeBytes { raw in
                (0..<(raw.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            }
            #expect(QuantizationTestSupport.sameFloats(refFloats, expected), "values of \(ref["name"]!)")
        }
        // The values are close to the source weights (bf16/f16 inputs, 6- and 4-bit outputs).
        #expect(zip(expectedValues[0], embed).allSatisfy { abs($0 - $1) < 0.003 })

        // llama.cpp's loader, when the ggml library is installed.
        guard let info = try? TestSupport.runPythonJSON("ggml_quantize.py", ["gguf-info", out.path]) else { return }
        #expect(info["loaded"] as? Bool == true)
        let ours = try GGUFReader.readMetadata(contentsOf: out)
        #expect((info["data_offset"] as? Int).map(UInt64.init) == ours.dataOffset)
        let ggmlTensors = info["tensors"] as! [[Any]]
        #expect(ggmlTensors.map { $0[0] as! String } == ours.tensors.map(\.name))
        #expect(ggmlTensors.map { UInt32($0[1] as! Int) } == ours.tensors.map(\.type.rawValue))
        #expect(ggmlTensors.map { UInt64($0[2] as! Int) } == ours.tensors.map(\.offset))
        #expect(ggmlTensors.map { UInt64($0[3] as! Int) } == ours.tensors.map(\.byteCount))
    }
}
