/// Nested `{name, children: [...]}` trees, one per root, for d3.hierarchy-style viewers.
/// A node with several parents appears under each; its subtree is spelled out under the
/// first and the later appearances carry `"repeated": true` and no children, which keeps the
/// output linear in the size of the graph even for dense DAGs.
public struct TreeJSONExporter: Sendable {
    public init() {}

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 160 + 1024)
        write(graph, into: &out)
        return out.bytes
    }

    public func write(_ graph: LineageGraph, into out: inout OutputBuffer) {
        var expanded = [Bool](repeating: false, count: graph.nodes.count)
        out.write("[\n")
        for (position, root) in graph.roots.enumerated() {
            if position > 0 { out.write(",\n") }
            writeTree(root, via: nil, graph: graph, expanded: &expanded, into: &out)
        }
        out.write("\n]\n")
    }

    private func writeTree(
        _ root: Int32, via rootEdge: Int32?, graph: LineageGraph, expanded: inout [Bool],
        into out: inout OutputBuffer
    ) {
        // An explicit stack instead of recursion: chains of derivations can be deep.
        enum Step { case open(Int32, edge: Int32?), close }
        var stack: [Step] = [.open(root, edge: rootEdge)]
        var needsComma: [Bool] = []
        while let step = stack.popLast() {
            switch step {
            case .close:
                out.write("]}")
                needsComma.removeLast()
            case .open(let node, let edge):
                if let last = needsComma.last {
                    if last { out.write(", ") }
                    needsComma[needsComma.count - 1] = true
                }
                out.write("{")
                NodeLinkJSONExporter.writeNodeFields(graph.nodes[Int(node)], into: &out)
                if let edge {
                    let relation = graph.edges[Int(edge)]
                    out.write(", \"relation\": \"")
                    out.write(relation.relation.rawValue)
                    out.write("\", \"provenance\": \"")
                    out.write(relation.provenance.rawValue)
                    out.write("\"")
                }
                if graph.parents(of: node).count > 1 {
                    out.write(", \"parents\": [")
                    for (position, parent) in graph.parents(of: node).enumerated() {
                        if position > 0 { out.write(", ") }
                        out.writeJSONString(graph.nodes[Int(parent)].id)
                    }
                    out.write("]")
                }
                if expanded[Int(node)] {
                    out.write(", \"repeated\": true}")
                    continue
                }
                expanded[Int(node)] = true
                out.write(", \"children\": [")
                needsComma.append(false)
                stack.append(.close)
                for (child, childEdge) in zip(graph.children(of: node), graph.outgoingEdges(of: node)).reversed() {
                    stack.append(.open(child, edge: childEdge))
                }
            }
        }
    }
}
