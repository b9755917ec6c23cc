import Foundation

/// Runs Graphviz's layout programs. Shared by `lineage render` (to a file) and the daemon's
/// `/lineage/*.svg` endpoints (to bytes), so there is one copy of the process handling.
public enum Graphviz {
    public static let layouts = ["dot", "neato", "fdp", "sfdp", "twopi", "circo"]

    public static func format(forOutput path: String) -> String? {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "svg": "svg"
        case "png": "png"
        case "pdf": "pdf"
        default: nil
        }
    }

    public struct NotInstalled: Error, CustomStringConvertible {
        public let program: String
        public var description: String {
            """
            Graphviz's `\(program)` is not on PATH, and rendering needs it. Install Graphviz \
            (Debian/Ubuntu: sudo apt-get install graphviz; Fedora: sudo dnf install graphviz; \
            macOS: brew install graphviz), or write DOT with `lineage export --format dot -o tree.dot` \
            and render it elsewhere.
            """
        }
    }

    public struct Failed: Error, CustomStringConvertible {
        public let program: String
        public let status: Int32
        public let message: String
        public var description: String { "\(program) failed (exit \(status)): \(message)" }
    }

    public static func executable(named program: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Feeds `dot` on standard input and writes to a temporary file first, so a failed render
    /// leaves no broken picture behind.
    public static func render(_ dot: [UInt8], layout: String, format: String, to output: String) throws {
        let target = URL(fileURLWithPath: output)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            _ = try run(dot, layout: layout, arguments: ["-T\(format)", "-o", temporary.path], collectOutput: false)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(at: temporary, to: target)
    }

    /// Renders to memory (the daemon answers with these bytes). Blocking: call it off the
    /// event loop.
    public static func render(_ dot: [UInt8], layout: String = "dot", format: String) throws -> [UInt8] {
        try run(dot, layout: layout, arguments: ["-T\(format)"], collectOutput: true)
    }

    private static func run(_ dot: [UInt8], layout: String, arguments: [String], collectOutput: Bool) throws -> [UInt8] {
        guard let program = executable(named: layout) else { throw NotInstalled(program: layout) }
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        let input = Pipe()
        let errors = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardError = errors
        if collectOutput { process.standardOutput = output }
        try process.run()
        // Drain stderr (and stdout) on other threads while writing stdin, so no pipe can fill
        // up and stall the layout program.
        let errorHandle = errors.fileHandleForReading
        let outputHandle = output.fileHandleForReading
        let errorText = BackgroundWork { [UInt8](errorHandle.readDataToEndOfFile()) }
        let outputBytes = collectOutput ? BackgroundWork { [UInt8](outputHandle.readDataToEndOfFile()) } : nil
        input.fileHandleForWriting.write(Data(dot))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let message = String(decoding: errorText.wait(), as: UTF8.self)
        let bytes = outputBytes?.wait() ?? []
        guard process.terminationStatus == 0 else {
            throw Failed(program: layout, status: process.terminationStatus,
                         message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return bytes
    }
}
