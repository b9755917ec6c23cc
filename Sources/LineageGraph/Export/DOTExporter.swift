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
        let labels = edgeLabels && graph.edges.count <= 5_000
        let ids = RenderedIDs(of: graph.nodes) { out, id in out.writeDOTString(id) }
        // On a large graph the second core renders the edges into memory while this one
        // writes the nodes; they are appended after. Either half alone is about half the work.
        let renderedEdges = graph.edges.count >= 100_000 ? BackgroundWork { [self] in
            var edges = OutputBuffer(capacity: graph.edges.count * 48)
            writeEdges(graph, ids: ids, labels: labels, into: &edges)
            return RenderedBuffer(edges)
        } : nil
        let familyNames = Dictionary(graph.families.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        // Borrow the nodes and edges in place: copying a node out of the array retains and
        // releases every one of its fields.
        graph.nodes.withUnsafeBufferPointer { nodes in
            ids.withWriter { ids in
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
                    writeNodes(members[family]!, of: nodes, ids: ids, indent: "    ", into: &out)
                    out.write("  }\n")
                }
                writeNodes(loose, of: nodes, ids: ids, indent: "  ", into: &out)
            }
        }
        if let renderedEdges { out.write(contentsOf: renderedEdges.wait().buffer) } else { writeEdges(graph, ids: ids, labels: labels, into: &out) }
        out.write("}\n")
    }

    /// The edges, grouped by style under one `edge [...]` default each. Endpoints are copied
    /// from `ids`: the edges' own strings are not read.
    private func writeEdges(_ graph: LineageGraph, ids: RenderedIDs, labels: Bool, into out: inout OutputBuffer) {
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
            graph.edgeEndpoints.withUnsafeBufferPointer { endpoints in
                ids.withWriter { ids in
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
                            out.write(literal: "    ")
                            ids.write(Int(endpoints[position].parent), into: &out)
                            out.write(literal: " -> ")
                            ids.write(Int(endpoints[position].child), into: &out)
                            if labels && !edges[position].evidence.isEmpty {
                                out.write(" [tooltip=")
                                out.writeDOTString("\(style.relation.rawValue) (\(style.provenance.rawValue)): \(edges[position].evidence)")
                                out.write("]")
                            }
                            out.write(literal: ";\n")
                        }
                        out.write("  }\n")
                    }
                }
            }
        }
    }

    /// The nodes at `positions`, grouped by kind under one `node [shape, fillcolor]` each.
    private func writeNodes(
        _ positions: [Int], of nodes: UnsafeBufferPointer<LineageNode>, ids: RenderedIDs.Writer, indent: StaticString,
        into out: inout OutputBuffer
    ) {
        var byKind = [[Int]](repeating: [], count: NodeKind.allCases.count)
        for position in positions { byKind[nodes[position].kind.ordinal].append(position) }
        for (kind, group) in zip(NodeKind.allCases, byKind) where !group.isEmpty {
            out.write(literal: indent)
            out.write("{\n")
            out.write(literal: indent)
            out.write("  node [shape=")
            out.write(Drawing.dotShape(kind))
            out.write(", fillcolor=\"")
            out.write(Drawing.dotFill(kind))
            out.write("\"];\n")
            for position in group {
                out.write(literal: indent)
                out.write(literal: "  ")
                let id = ids.span(position)
                out.write(bytes: id)
                out.write(literal: " [label=\"")
                // Most imported models are named by their id: the rendered id, unquoted, is
                // the escaped name.
                if nodes[position].name == nodes[position].id {
                    out.write(bytes: UnsafeBufferPointer(rebasing: id.dropFirst().dropLast()))
                } else {
                    out.writeDOTText(nodes[position].name)
                }
                if let license = nodes[position].license {
                    out.write(literal: "\\n")
                    out.writeDOTText(license)
                }
                out.write(literal: "\"")
                if let hub = nodes[position].hubIDs.first {
                    out.write(", tooltip=")
                    out.writeDOTString(hub)
                }
                out.write(literal: "];\n")
            }
            out.write(literal: indent)
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
