import Foundation
import LineageGraph

/// Helpers the test targets share: scratch directories and the Python checks in Tests/Scripts
/// (gguf-py, sentencepiece, networkx and llama.cpp through llama-cpp-python are the
/// references our files are held against).
public enum TestSupport {
    public static let scriptsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scripts")

    /// A new empty directory of the test run's own (see `scratchURL`).
    public static func temporaryDirectory(prefix: String = "lineage-tests") throws -> URL {
        let dir = scratchURL(prefix)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A fresh path (not created) for a test's scratch files. Every test's scratch lives
    /// under one directory of this test process, removed when the process exits; one left
    /// by a test process that died (a crash, a kill) is removed by the next run. Each run
    /// of the suite writes about a gigabyte of stores, mirrors and models: left behind, they
    /// filled the disk of a machine that runs it all day.
    public static func scratchURL(_ prefix: String) -> URL {
        runDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    }

    private static let runDirectory: URL = {
        let parent = FileManager.default.temporaryDirectory
        let marker = "lineage-test-run-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? [] where name.hasPrefix(marker) {
            // kill(pid, 0) fails with ESRCH when no such process is running.
            if let pid = Int32(name.dropFirst(marker.count)), kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))
            }
        }
        let directory = parent.appendingPathComponent(marker + String(getpid()))
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TestSupport.runDirectory) }
        return directory
    }()

    public struct ScriptFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `python3 Tests/Scripts/<script> args...` and returns its standard output; throws
    /// with the end of its standard error when it fails.
    public static func runPython(_ script: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptsDirectory.appendingPathComponent(script).path] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain stderr on another thread so neither pipe can fill up and stall the script.
        let errorHandle = err.fileHandleForReading
        let errors = BackgroundWork { errorHandle.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = errors.wait()
        guard process.terminationStatus == 0 else {
            throw ScriptFailure(description: "\(script) exited \(process.terminationStatus): \(String(decoding: stderr.suffix(4000), as: UTF8.self))")
        }
        return stdout
    }

    public static func runPythonJSON(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let data = try runPython(script, arguments)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ScriptFailure(description: "\(script) did not print a JSON object")
        }
        return object
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The files a directory holds, for "no partial file is left" checks.
    public static func files(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }
}
