/// Graphviz DOT: families as clusters, node kind as shape, relation as edge colour and label,
/// provenance as line style. Every id and label is quoted and escaped (see OutputBuffer).
public struct DOTExporter: Sendable {
    /// Labels on edges help small graphs and drown big ones.
    public var edgeLabels: Bool

    public init(edgeLabels: Bool? = nil) { self.edgeLabels = edgeLabels ?? true }

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 96 + graph.edges.count * 64 + 1024)
        write(graph, into: &out)
        return out.bytes
    }

    public func write(_ graph: LineageGraph, into out: inout OutputBuffer) {
        out.write("""
            digraph lineage {
              graph [rankdir=LR, fontname="Helvetica", fontsize=11, newrank=true];
              node [fontname="Helvetica", fontsize=10, style=filled];
              edge [fontname="Helvetica", fontsize=8, arrowsize=0.7];

            """)
        let familyNames = Dictionary(graph.families.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var members: [String: [Int]] = [:]
        var loose: [Int] = []
        for (position, node) in graph.nodes.enumerated() {
            if let family = node.family { members[family, default: []].append(position) } else { loose.append(position) }
        }
        for family in members.keys.sorted() {
            out.write("  subgraph ")
            out.writeDOTString("cluster_" + family)
            out.write(" {\n    label=")
            out.writeDOTString(familyNames[family] ?? family)
            out.write("; style=\"rounded,filled\"; fillcolor=\"#fafafa\"; color=\"#bbbbbb\";\n")
            for position in members[family]! { writeNode(graph.nodes[position], indent: "    ", into: &out) }
            out.write("  }\n")
        }
        for position in loose { writeNode(graph.nodes[position], indent: "  ", into: &out) }
        let labels = edgeLabels && graph.edges.count <= 5_000
        for edge in graph.edges {
            out.write("  ")
            out.writeDOTString(edge.parent)
            out.write(" -> ")
            out.writeDOTString(edge.child)
            out.write(" [color=\"")
            out.write(Drawing.dotColor(edge.relation))
            out.write("\", style=")
            out.write(Drawing.dotStyle(edge.provenance))
            if labels {
                out.write(", label=")
                out.writeDOTString(edge.relation.rawValue)
            }
            if !edge.evidence.isEmpty && labels {
                out.write(", tooltip=")
                out.writeDOTString("\(edge.relation.rawValue) (\(edge.provenance.rawValue)): \(edge.evidence)")
            }
            out.write("];\n")
        }
        out.write("}\n")
    }

    private func writeNode(_ node: LineageNode, indent: String, into out: inout OutputBuffer) {
        out.write(indent)
        out.writeDOTString(node.id)
        out.write(" [label=\"")
        out.writeDOTText(node.name)
        if let license = node.license {
            out.write("\\n")
            out.writeDOTText(license)
        }
        out.write("\"")
        out.write(", shape=")
        out.write(Drawing.dotShape(node.kind))
        out.write(", fillcolor=\"")
        out.write(Drawing.dotFill(node.kind))
        out.write("\"")
        if let hub = node.hubIDs.first {
            out.write(", tooltip=")
            out.writeDOTString(hub)
        }
        out.write("];\n")
    }
}
