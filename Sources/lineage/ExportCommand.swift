import ArgumentParser
import Foundation
import LineageGraph

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the lineage graph as DOT, node-link JSON, tree JSON, GraphML or Mermaid."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var selection: SelectionOptions

    @Option(name: .long, help: "dot, json (networkx node-link), tree-json, graphml or mermaid.")
    var format: ExportFormat = .dot

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    func run() throws {
        try runReporting {
            let graph = try selection.select(from: try storeOptions.loadGraph())
            try OutputFile.write(format.export(graph), to: output)
        }
    }
}

enum OutputFile {
    /// Writes atomically, so a failed export never leaves half a file behind.
    static func write(_ bytes: [UInt8], to path: String?) throws {
        guard let path, path != "-" else {
            Terminal.write(bytes)
            return
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
