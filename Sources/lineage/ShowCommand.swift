import ArgumentParser
import LineageGraph

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a model: its facts, parents, children and the license check."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "A catalog id, Hub repo id or name.")
    var model: String

    func run() throws {
        try runReporting {
            let graph = try storeOptions.loadGraph()
            let index = try graph.require(model)
            print(ModelReport(graph: graph, node: index).text, terminator: "")
        }
    }
}

/// The text `lineage show` prints.
struct ModelReport {
    let graph: LineageGraph
    let node: Int32

    var text: String {
        let model = graph.nodes[Int(node)]
        var lines: [String] = ["\(model.name)  [\(model.id)]"]
        let width = max(15, model.facts.keys.map(\.count).max() ?? 0)
        func field(_ name: String, _ value: String?) {
            if let value, !value.isEmpty { lines.append("  \(name.padding(toLength: width, withPad: " ", startingAt: 0)) \(value)") }
        }
        field("kind", model.kind.rawValue)
        field("family", model.family.map { id in graph.families.first { $0.id == id }?.name ?? id })
        field("organization", model.organization)
        field("hub", model.hubIDs.joined(separator: ", "))
        field("released", model.released)
        field("parameters", model.sizeLabel ?? model.parameters.map(String.init))
        field("context", model.contextLength.map { "\($0) tokens" })
        field("license", model.license)
        field("architecture", model.architecture)
        field("availability", model.availability)
        for key in model.facts.keys.sorted() { field(key, model.facts[key]) }
        for correction in model.corrections {
            lines.append("  \("correction".padding(toLength: width, withPad: " ", startingAt: 0)) \(correction.field): the survey says \(correction.survey); in fact \(correction.fact) (\(correction.source))")
        }
        lines.append("parents:")
        let incoming = graph.incomingEdges(of: node)
        if incoming.isEmpty { lines.append("  (none)") }
        for edgeIndex in incoming {
            let edge = graph.edges[Int(edgeIndex)]
            lines.append("  \(edge.relation.rawValue) of \(graph.label(graph.edgeEndpoints[Int(edgeIndex)].parent))  [\(edge.provenance.rawValue), \(edge.confidence)]\(edge.evidence.isEmpty ? "" : ": \(edge.evidence)")")
        }
        lines.append("children:")
        let outgoing = graph.outgoingEdges(of: node)
        if outgoing.isEmpty { lines.append("  (none)") }
        for edgeIndex in outgoing {
            let edge = graph.edges[Int(edgeIndex)]
            lines.append("  \(graph.label(graph.edgeEndpoints[Int(edgeIndex)].child)) (\(edge.relation.rawValue), \(edge.provenance.rawValue))")
        }
        lines.append("license check:")
        if model.license == nil {
            lines.append("  no license declared")
        } else {
            let findings = graph.licenseFindings(for: node)
            if findings.isEmpty { lines.append("  ok: \(model.license!) is consistent with every base model and dataset") }
            for finding in findings { lines.append("  \(finding.severity.rawValue.uppercased()): \(finding.message)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
