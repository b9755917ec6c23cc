import Dispatch
import Foundation
import GGUF
import ModelConversion
import WeightFormats

// The quantization benchmark (see scripts/bench-quantize.sh, which runs it side by side with
// llama.cpp's llama_model_quantize and gguf-py's NumPy quantizers on the same weights).
//
//   lineage-quantize-bench generate DIR TOKENIZER   write a Llama-2-7B-shaped checkpoint: the
//                                                   embeddings, the output and 2 of the 32 blocks,
//                                                   F32 safetensors (2.67 GB)
//   lineage-quantize-bench run DIR PRESET THREADS OUT
//                                                   convert once; print seconds, bytes and peak RSS
//   lineage-quantize-bench kernels MEGAWEIGHTS      single-thread weights/s of each row kernel
//
// Each `run` is its own process so that its peak RSS is its own.

let arguments = CommandLine.arguments

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("lineage-quantize-bench: \(message)\n".utf8))
    exit(2)
}

/// Weights roughly like a trained model's: bell-shaped (a sum of four uniforms), scale 0.02,
/// from a xorshift generator per chunk so that generation runs on every core.
func fillWeights(_ buffer: UnsafeMutableBufferPointer<Float>, seed: UInt64) {
    let chunk = 1 << 20
    let chunks = (buffer.count + chunk - 1) / chunk
    let shared = UncheckedBox(buffer)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        var state = seed &+ UInt64(c) &* 0x9E37_79B9_7F4A_7C15 | 1
        let b = shared.value
        for i in (c * chunk)..<min(b.count, (c + 1) * chunk) {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let s = Float(state & 0xFFFF) + Float((state >> 16) & 0xFFFF) + Float((state >> 32) & 0xFFFF) + Float(state >> 48)
            b[i] = (s / 65535 - 2) * 0.035
        }
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

func generate(directory: URL, tokenizer: URL) throws {
    let hidden = 4096, ffn = 11008, vocab = 32000, layers = 2
    var tensors: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden])]
    for i in 0..<layers {
        let p = "model.layers.\(i)."
        tensors += [
            (p + "input_layernorm.weight", [hidden]), (p + "self_attn.q_proj.weight", [hidden, hidden]),
            (p + "self_attn.k_proj.weight", [hidden, hidden]), (p + "self_attn.v_proj.weight", [hidden, hidden]),
            (p + "self_attn.o_proj.weight", [hidden, hidden]), (p + "post_attention_layernorm.weight", [hidden]),
            (p + "mlp.gate_proj.weight", [ffn, hidden]), (p + "mlp.up_proj.weight", [ffn, hidden]),
            (p + "mlp.down_proj.weight", [hidden, ffn]),
        ]
    }
    tensors += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]

    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var header: [String] = ["\"__metadata__\":{\"format\":\"pt\"}"]
    var offset = 0
    for (name, shape) in tensors {
        let bytes = shape.reduce(1, *) * 4
        header.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
        offset += bytes
    }
    var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
    while json.count % 8 != 0 { json.append(0x20) }
    let url = directory.appendingPathComponent("model.safetensors")
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else { fail("cannot create \(url.path)") }
    let out = try FileHandle(forWritingTo: url)
    var prefix = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
    prefix.append(contentsOf: json)
    try out.write(contentsOf: prefix)
    for (index, (name, shape)) in tensors.enumerated() {
        let count = shape.reduce(1, *)
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        if shape.count == 1 {
            for i in 0..<count { buffer[i] = 1 + Float(i % 17) / 100 }
        } else {
            fillWeights(buffer, seed: UInt64(index + 1) &* 7919)
        }
        try out.write(contentsOf: Data(bytesNoCopy: buffer.baseAddress!, count: count * 4, deallocator: .none))
        FileHandle.standardError.write(Data("  \(name) \(shape)\n".utf8))
    }
    try out.close()
    let config = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(hidden),
         "intermediate_size": \(ffn), "num_hidden_layers": \(layers), "num_attention_heads": 32,
         "num_key_value_heads": 32, "vocab_size": \(vocab), "max_position_embeddings": 4096,
         "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "bos_token_id": 1, "eos_token_id": 2}
        """
    try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
    try FileManager.default.copyItem(at: tokenizer, to: directory.appendingPathComponent("tokenizer.model"))
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1024 / 1024  // bytes on Darwin
    #endif
}

func run(directory: URL, preset: QuantizationPreset, threads: Int, output: URL) throws {
    let options = ConversionOptions(preset: preset, lineage: LineageMetadata(name: "bench-7b-shape"), threads: threads)
    let started = Date()
    let plan = try ModelConverter.plan(directory: directory, options: options)
    let summary = try plan.write(to: output, options: options)
    let seconds = Date().timeIntervalSince(started)
    print(#"{"seconds": \#(String(format: "%.4f", seconds)), "input_bytes": \#(summary.inputBytes), "output_bytes": \#(summary.outputBytes), "peak_rss_mb": \#(String(format: "%.1f", peakRSSMegabytes()))}"#)
}

/// CPU time of the calling thread: the machine is shared, so wall time would measure the
/// neighbours too.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func kernels(megaweights: Int) throws {
    let n = megaweights << 20
    let input = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
    defer { input.deallocate() }
    fillWeights(input, seed: 42)
    let rowLength = 4096
    for type in GGMLQuantizer.quantizableTypes {
        let rowBytes = type.rowSize(elements: rowLength)!
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: rowBytes * (n / rowLength), alignment: 64)
        defer { output.deallocate() }
        let started = threadCPUSeconds()
        for r in 0..<(n / rowLength) {
            try GGMLQuantizer.quantizeRow(
                UnsafeBufferPointer(rebasing: input[(r * rowLength)..<((r + 1) * rowLength)]), as: type,
                into: UnsafeMutableRawBufferPointer(rebasing: output[(r * rowBytes)..<((r + 1) * rowBytes)]))
        }
        let seconds = threadCPUSeconds() - started
        print("\(type)".padding(toLength: 6, withPad: " ", startingAt: 0) + String(format: "%8.1f M weights/s (CPU time)", Double(n) / seconds / 1e6))
    }
}

do {
    switch arguments.count > 1 ? arguments[1] : "" {
    case "generate" where arguments.count == 4:
        try generate(directory: URL(fileURLWithPath: arguments[2]), tokenizer: URL(fileURLWithPath: arguments[3]))
    case "run" where arguments.count == 6:
        guard let preset = QuantizationPreset(name: arguments[3]), let threads = Int(arguments[4]) else { fail("bad preset or thread count") }
        try run(directory: URL(fileURLWithPath: arguments[2]), preset: preset, threads: threads, output: URL(fileURLWithPath: arguments[5]))
    case "kernels" where arguments.count == 3:
        try kernels(megaweights: Int(arguments[2]) ?? 16)
    default:
        fail("usage: generate DIR TOKENIZER | run DIR PRESET THREADS OUT | kernels MEGAWEIGHTS")
    }
} catch {
    fail("\(error)")
}
