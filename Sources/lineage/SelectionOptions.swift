import ArgumentParser
import LineageGraph

/// Which part of the graph an export or render covers.
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only this model and its descendants.", valueName: "model"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Only this family (and the models its roots come from).", valueName: "family"))
    var family: String?

    @Option(name: .long, help: ArgumentHelp("Follow at most this many edges down from --root (or from every root).", valueName: "n"))
    var depth: Int?

    func validate() throws {
        if let depth, depth < 0 { throw ValidationError("--depth must be 0 or more") }
    }

    func select(from graph: LineageGraph) throws -> LineageGraph {
        var selection: Set<Int32>?
        if let root {
            let start = try graph.require(root)
            selection = Set(graph.descendants(of: start, depth: depth)).union([start])
        } else if let depth {
            var reached = Set(graph.roots)
            for start in graph.roots { reached.formUnion(graph.descendants(of: start, depth: depth)) }
            selection = reached
        }
        if let family {
            guard graph.families.contains(where: { $0.id == family }) else {
                throw CommandFailure("no family '\(family)'; known families: \(graph.families.map(\.id).joined(separator: ", "))")
            }
            let members = graph.familySelection(family)
            selection = selection.map { $0.intersection(members) } ?? members
        }
        guard let selection else { return graph }
        return graph.subgraph(selection)
    }
}
