import Foundation
import Testing

/// Helpers shared by the WeightFormats tests: temporary files and running the Python scripts in
/// Tests/Scripts (gguf-py is the reference implementation the files are checked against).
enum TestSupport {
    static let scriptsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts")

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("weightformats-tests-\(UUID().uuidString)")
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
        // Read before waiting so a large output cannot fill the pipe and block the script.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScriptFailure(description: "\(script) exited \(process.terminationStatus): \(String(decoding: stderr, as: UTF8.self))")
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

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
