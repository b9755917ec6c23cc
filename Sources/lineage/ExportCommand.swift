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
            try format.write(graph, toFileAt: output ?? "-")
        }
    }
}
