import ArgumentParser
import Foundation
import LineageGraph

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw the lineage graph with Graphviz: SVG, PNG or PDF by the output's extension."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var selection: SelectionOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The picture to write: tree.svg, tree.png or tree.pdf.", valueName: "file"))
    var output: String

    @Option(name: .long, help: "The Graphviz layout program.")
    var layout: String = "dot"

    func validate() throws {
        guard Graphviz.layouts.contains(layout) else {
            throw ValidationError("unknown layout '\(layout)' (\(Graphviz.layouts.joined(separator: ", ")))")
        }
        guard Graphviz.format(forOutput: output) != nil else {
            throw ValidationError("cannot tell the picture format from '\(output)': name it .svg, .png or .pdf")
        }
    }

    func run() throws {
        try runReporting {
            let graph = try selection.select(from: try storeOptions.loadGraph())
            try Graphviz.render(DOTExporter().export(graph), layout: layout,
                                format: Graphviz.format(forOutput: output)!, to: output)
        }
    }
}

/// Runs Graphviz's layout programs.
enum Graphviz {
    static let layouts = ["dot", "neato", "fdp", "sfdp", "twopi", "circo"]

    static func format(forOutput path: String) -> String? {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "svg": "svg"
        case "png": "png"
        case "pdf": "pdf"
        default: nil
        }
    }

    struct NotInstalled: Error, CustomStringConvertible {
        let program: String
        var description: String {
            """
            Graphviz's `\(program)` is not on PATH, and rendering needs it. Install Graphviz \
            (Debian/Ubuntu: sudo apt-get install graphviz; Fedora: sudo dnf install graphviz; \
            macOS: brew install graphviz), or write DOT with `lineage export --format dot -o tree.dot` \
            and render it elsewhere.
            """
        }
    }

    static func executable(named program: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Feeds `dot` on standard input and writes to a temporary file first, so a failed render
    /// leaves no broken picture behind.
    static func render(_ dot: [UInt8], layout: String, format: String, to output: String) throws {
        guard let program = executable(named: layout) else { throw NotInstalled(program: layout) }
        let target = URL(fileURLWithPath: output)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        let process = Process()
        process.executableURL = program
        process.arguments = ["-T\(format)", "-o", temporary.path]
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        // Read stderr on another thread while writing stdin, so neither pipe can fill up and stall.
        let errorText = ErrorCollector(errors.fileHandleForReading)
        input.fileHandleForWriting.write(Data(dot))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let message = errorText.wait()
        guard process.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CommandFailure("\(layout) failed (exit \(process.terminationStatus)): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(at: temporary, to: target)
    }
}

/// Drains a pipe on a background thread.
final class ErrorCollector: @unchecked Sendable {
    // Written once by the reader thread before `done` is signalled, read after: the
    // semaphore orders the two accesses.
    private var text = ""
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            done.signal()
        }
    }

    func wait() -> String {
        done.wait()
        return text
    }
}
