import LineageTestSupport
import Foundation
import GGUF
@testable import ModelConversion

/// Converting test checkpoints, and reading the results back.
enum Conversion {
    /// Converts `directory` with `preset` into `output` (default: next to it).
    @discardableResult
    static func run(_ directory: URL, _ preset: QuantizationPreset, to output: URL? = nil, threads: Int = 2,
                    lineage: LineageMetadata? = nil, allowF16Fallback: Bool = false) throws -> (URL, ConversionSummary) {
        let options = ConversionOptions(preset: preset, lineage: lineage, threads: threads, allowF16Fallback: allowF16Fallback)
        let plan = try ModelConverter.plan(directory: directory, options: options)
        let url = output ?? directory.deletingLastPathComponent().appendingPathComponent("\(directory.lastPathComponent)-\(preset).gguf")
        let summary = try plan.write(to: url, options: options)
        return (url, summary)
    }

    /// gguf-py's view of a file.
    static func summary(_ url: URL) throws -> [String: Any] {
        try TestSupport.runPythonJSON("gguf_summary.py", [url.path])
    }

    static func keyValues(_ summary: [String: Any]) -> [(String, Any)] {
        (summary["kv"] as! [[String: Any]]).map { ($0["key"] as! String, $0["value"]!) }
    }

    static func value(_ summary: [String: Any], _ key: String) -> Any? {
        keyValues(summary).first { $0.0 == key }?.1
    }

    static func tensors(_ summary: [String: Any]) -> [[String: Any]] {
        summary["tensors"] as! [[String: Any]]
    }

    /// Whether llama-cpp-python is installed (the llama.cpp checks skip without it).
    static let llamaCppAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import llama_cpp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()
}
