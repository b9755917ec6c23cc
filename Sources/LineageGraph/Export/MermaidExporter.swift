/// Mermaid `flowchart`: node ids are generated (`n0`, `n1`, ...) because model ids hold
/// characters Mermaid cannot take and an id such as `end` breaks its parser; labels are
/// quoted with entity codes. Families become subgraphs.
public struct MermaidExporter: Sendable {
    public init() {}

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 64 + graph.edges.count * 48 + 256)
        write(graph, into: &out)
        return out.bytes
    }

    public func write(_ graph: LineageGraph, into out: inout OutputBuffer) {
        out.write("flowchart LR\n")
        let familyNames = Dictionary(graph.families.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var members: [String: [Int]] = [:]
        var loose: [Int] = []
        for (position, node) in graph.nodes.enumerated() {
            if let family = node.family { members[family, default: []].append(position) } else { loose.append(position) }
        }
        for (familyPosition, family) in members.keys.sorted().enumerated() {
            out.write("  subgraph family\(familyPosition) [")
            out.writeMermaidLabel(familyNames[family] ?? family)
            out.write("]\n")
            for position in members[family]! { writeNode(position, graph.nodes[position], indent: "    ", &out) }
            out.write("  end\n")
        }
        for position in loose { writeNode(position, graph.nodes[position], indent: "  ", &out) }
        for (edge, endpoints) in zip(graph.edges, graph.edgeEndpoints) {
            out.write("  n\(endpoints.parent) ")
            // Dotted arrows for claims nobody checked by hand.
            out.write(edge.provenance == .curated ? "-->" : "-.->")
            out.write("|")
            out.writeMermaidLabel(edge.relation.rawValue)
            out.write("| n\(endpoints.child)\n")
        }
        for kind in NodeKind.allCases {
            out.write("  classDef \(kind.rawValue.filter { $0 != "-" }) fill:\(Drawing.dotFill(kind)),stroke:#555\n")
        }
    }

    private func writeNode(_ position: Int, _ node: LineageNode, indent: String, _ out: inout OutputBuffer) {
        let (open, close): (String, String) = switch node.kind {
        case .pretrained: ("[", "]")
        case .finetuned: ("(", ")")
        case .adapter: ("[[", "]]")
        case .merge: ("{{", "}}")
        case .quantized: (">", "]")
        case .weightDelta: ("[/", "/]")
        case .dataset: ("[(", ")]")
        }
        out.write("\(indent)n\(position)\(open)")
        out.writeMermaidLabel(node.name)
        out.write("\(close):::\(node.kind.rawValue.filter { $0 != "-" })\n")
    }
}
