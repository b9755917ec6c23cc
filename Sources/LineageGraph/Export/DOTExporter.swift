/// Graphviz DOT: families as clusters, node kind as shape and fill, relation as edge colour
/// (and label on graphs small enough to read), provenance as line style. Every id and label
/// is quoted and escaped (see OutputBuffer). Nodes of one kind and edges of one style are
/// written as groups under one `node [...]` / `edge [...]` default, so a style is spelled
/// once per group rather than once per line: a third less output on large graphs, and
/// easier to read.
public struct DOTExporter: Sendable {
    /// Labels on edges help small graphs and drown big ones.
    public var edgeLabels: Bool

    public init(edgeLabels: Bool? = nil) { self.edgeLabels = edgeLabels ?? true }

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 64 + graph.edges.count * 48 + 1024)
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
        // On a large graph the second core renders the edges into memory while this one
        // writes the nodes; they are appended after. Either half alone is about half the work.
        let labels = edgeLabels && graph.edges.count <= 5_000
        let renderedEdges = graph.edges.count >= 100_000 ? BackgroundWork { [self] in
            var edges = OutputBuffer(capacity: graph.edges.count * 48)
            writeEdges(graph, labels: labels, into: &edges)
            return edges.bytes
        } : nil
        let familyNames = Dictionary(graph.families.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        // Borrow the nodes and edges in place: copying a node out of the array retains and
        // releases every one of its fields.
        graph.nodes.withUnsafeBufferPointer { nodes in
            var members: [String: [Int]] = [:]
            var loose: [Int] = []
            for position in nodes.indices {
                if let family = nodes[position].family { members[family, default: []].append(position) } else { loose.append(position) }
            }
            for family in members.keys.sorted() {
                out.write("  subgraph ")
                out.writeDOTString("cluster_" + family)
                out.write(" {\n    label=")
                out.writeDOTString(familyNames[family] ?? family)
                out.write("; style=\"rounded,filled\"; fillcolor=\"#fafafa\"; color=\"#bbbbbb\";\n")
                writeNodes(members[family]!, of: nodes, indent: "    ", into: &out)
                out.write("  }\n")
            }
            writeNodes(loose, of: nodes, indent: "  ", into: &out)
        }
        if let renderedEdges { out.write(bytes: renderedEdges.wait()) } else { writeEdges(graph, labels: labels, into: &out) }
        out.write("}\n")
    }

    /// The edges, grouped by style under one `edge [...]` default each.
    private func writeEdges(_ graph: LineageGraph, labels: Bool, into out: inout OutputBuffer) {
        graph.edges.withUnsafeBufferPointer { edges in
            // Buckets by (relation, provenance) ordinal, written in style order.
            let provenances = Provenance.allCases.count
            var groups = [[Int]](repeating: [], count: Relation.allCases.count * provenances)
            for position in edges.indices {
                groups[edges[position].relation.ordinal * provenances + edges[position].provenance.ordinal].append(position)
            }
            let styles = groups.indices.filter { !groups[$0].isEmpty }.map { bucket in
                (bucket, EdgeStyle(relation: Relation.allCases[bucket / provenances], provenance: Provenance.allCases[bucket % provenances]))
            }
            for (bucket, style) in styles.sorted(by: { $0.1 < $1.1 }) {
                out.write("  {\n    edge [color=\"")
                out.write(Drawing.dotColor(style.relation))
                out.write("\", style=")
                out.write(Drawing.dotStyle(style.provenance))
                if labels {
                    out.write(", label=")
                    out.writeDOTString(style.relation.rawValue)
                }
                out.write("];\n")
                for position in groups[bucket] {
                    out.write("    ")
                    out.writeDOTString(edges[position].parent)
                    out.write(" -> ")
                    out.writeDOTString(edges[position].child)
                    if labels && !edges[position].evidence.isEmpty {
                        out.write(" [tooltip=")
                        out.writeDOTString("\(style.relation.rawValue) (\(style.provenance.rawValue)): \(edges[position].evidence)")
                        out.write("]")
                    }
                    out.write(";\n")
                }
                out.write("  }\n")
            }
        }
    }

    /// The nodes at `positions`, grouped by kind under one `node [shape, fillcolor]` each.
    private func writeNodes(_ positions: [Int], of nodes: UnsafeBufferPointer<LineageNode>, indent: String, into out: inout OutputBuffer) {
        var byKind = [[Int]](repeating: [], count: NodeKind.allCases.count)
        for position in positions { byKind[nodes[position].kind.ordinal].append(position) }
        for (kind, group) in zip(NodeKind.allCases, byKind) where !group.isEmpty {
            out.write(indent)
            out.write("{\n")
            out.write(indent)
            out.write("  node [shape=")
            out.write(Drawing.dotShape(kind))
            out.write(", fillcolor=\"")
            out.write(Drawing.dotFill(kind))
            out.write("\"];\n")
            for position in group {
                out.write(indent)
                out.write("  ")
                out.writeDOTString(nodes[position].id)
                out.write(" [label=\"")
                out.writeDOTText(nodes[position].name)
                if let license = nodes[position].license {
                    out.write("\\n")
                    out.writeDOTText(license)
                }
                out.write("\"")
                if let hub = nodes[position].hubIDs.first {
                    out.write(", tooltip=")
                    out.writeDOTString(hub)
                }
                out.write("];\n")
            }
            out.write(indent)
            out.write("}\n")
        }
    }
}

/// An edge's drawing: colour from the relation, line style from the provenance.
struct EdgeStyle: Hashable, Comparable {
    let relation: Relation
    let provenance: Provenance

    static func < (lhs: EdgeStyle, rhs: EdgeStyle) -> Bool {
        (lhs.relation.rawValue, lhs.provenance.rawValue) < (rhs.relation.rawValue, rhs.provenance.rawValue)
    }
}
