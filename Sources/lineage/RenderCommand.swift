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
