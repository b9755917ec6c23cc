import Foundation
import Testing

/// Temporary directories and the Python checks in Tests/Scripts (gguf-py, sentencepiece and
/// llama.cpp through llama-cpp-python are the references our files are held against).
enum TestSupport {
    static let scriptsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scripts")

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("modelconversion-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    struct ScriptFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `python3 Tests/Scripts/<script> args...` and returns stdout; throws with stderr when
    /// the script fails.
    static func runPython(_ script: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptsDirectory.appendingPathComponent(script).path] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain stderr on another thread so neither pipe can fill up and stall the script.
        let errors = ErrorCollector(err.fileHandleForReading)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = errors.wait()
        guard process.terminationStatus == 0 else {
            throw ScriptFailure(description: "\(script) exited \(process.terminationStatus): \(String(decoding: stderr.suffix(4000), as: UTF8.self))")
        }
        return stdout
    }

    static func runPythonJSON(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let data = try runPython(script, arguments)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ScriptFailure(description: "\(script) did not print a JSON object")
        }
        return object
    }

    /// The files a directory holds, for "no partial GGUF is left" checks.
    static func files(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    private final class ErrorCollector: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }
        func wait() -> Data {
            done.wait()
            return data
        }
    }
}
