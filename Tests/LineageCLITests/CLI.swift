import Foundation
import LineageTestSupport
import LineageGraph
import Testing

/// Runs the built `lineage` executable the way a user does: a real process, real exit codes,
/// real standard output and error.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutBytes: Data
    }

    /// The package root (for Tests/Scripts and Graph/).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The executable, built beside this test bundle because this target depends on it.
    static let executable: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lineage"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lineage"),
            packageRoot.appendingPathComponent(".build/debug/lineage"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    /// A scratch directory of this test's own.
    let scratch: URL
    var environment: [String: String]

    init() throws {
        scratch = TestSupport.scratchURL("lineage-cli")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["LINEAGE_STORE"] = scratch.appendingPathComponent("store").path
        environment["LINEAGE_CATALOG"] = nil
        self.environment = environment
    }

    var store: URL { scratch.appendingPathComponent("store") }

    @discardableResult
    func run(_ arguments: [String], environment extra: [String: String?] = [:], in directory: URL? = nil) throws -> Result {
        try Self.run(Self.executable, arguments, environment: environment.merging(extra), in: directory ?? URL(fileURLWithPath: "/"))
    }

    static func run(_ program: URL, _ arguments: [String], environment: [String: String], in directory: URL) throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes at once so a large export cannot fill one and stall the child.
        let errorHandle = errors.fileHandleForReading
        let errorReader = BackgroundWork { errorHandle.readDataToEndOfFile() }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorData = errorReader.wait()
        return Result(status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                      stderr: String(decoding: errorData, as: UTF8.self), stdoutBytes: outputData)
    }

    /// Runs a Python script from Tests/Scripts.
    func python(_ script: String, _ arguments: [String]) throws -> Result {
        try Self.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", Self.packageRoot.appendingPathComponent("Tests/Scripts/\(script)").path] + arguments,
                            environment: environment, in: scratch)
    }

    /// Runs a tool found on PATH (dot).
    func tool(_ name: String, _ arguments: [String]) throws -> Result {
        try Self.run(URL(fileURLWithPath: "/usr/bin/env"), [name] + arguments, environment: environment, in: scratch)
    }

    func write(_ text: String, to path: String) throws -> URL {
        let url = scratch.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }
}

extension Dictionary where Key == String, Value == String {
    func merging(_ overrides: [String: String?]) -> [String: String] {
        var result = self
        for (key, value) in overrides { result[key] = value }
        return result
    }
}
