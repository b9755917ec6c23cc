/// GraphML with typed `<key>` declarations before the graph, readable by
/// `networkx.read_graphml`. Lists (Hub ids, corrections) are joined into strings and facts
/// become one key each, since GraphML attributes are scalars.
public struct GraphMLExporter: Sendable {
    public init() {}

    private static let nodeStringKeys = ["family", "license", "organization", "released", "size_label", "architecture", "availability"]

    private static func stringFields(of node: LineageNode) -> [(String, String?)] {
        [("family", node.family), ("license", node.license), ("organization", node.organization),
         ("released", node.released), ("size_label", node.sizeLabel), ("architecture", node.architecture),
         ("availability", node.availability)]
    }

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 300 + graph.edges.count * 200 + 4096)
        write(graph, into: &out)
        return out.bytes
    }

    public func write(_ graph: LineageGraph, into out: inout OutputBuffer) {
        out.write("""
            <?xml version="1.0" encoding="UTF-8"?>
            <graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">

            """)
        var keys: [(id: String, domain: String, name: String, type: String)] = [
            ("name", "node", "name", "string"), ("kind", "node", "kind", "string"),
        ]
        keys += Self.nodeStringKeys.map { ($0, "node", $0, "string") }
        keys += [("parameters", "node", "parameters", "long"), ("context_length", "node", "context_length", "int"),
                 ("hub_ids", "node", "hub_ids", "string"), ("corrections", "node", "corrections", "string")]
        let factKeys = Set(graph.nodes.flatMap(\.facts.keys)).sorted()
        // Fact names may hold any characters; key ids are generated, attr.name keeps the name.
        for (position, fact) in factKeys.enumerated() { keys.append(("f\(position)", "node", fact, "string")) }
        let factKeyID = Dictionary(uniqueKeysWithValues: factKeys.enumerated().map { ($1, "f\($0)") })
        keys += [("relation", "edge", "relation", "string"), ("provenance", "edge", "provenance", "string"),
                 ("confidence", "edge", "confidence", "double"), ("evidence", "edge", "evidence", "string")]
        for key in keys {
            out.write("  <key id=\"")
            out.writeXMLEscaped(key.id)
            out.write("\" for=\"\(key.domain)\" attr.name=\"")
            out.writeXMLEscaped(key.name)
            out.write("\" attr.type=\"\(key.type)\"/>\n")
        }
        out.write("  <graph id=\"lineage\" edgedefault=\"directed\">\n")
        for node in graph.nodes {
            out.write("    <node id=\"")
            out.writeXMLEscaped(node.id)
            out.write("\">")
            data("name", node.name, &out)
            data("kind", node.kind.rawValue, &out)
            for case let (key, value?) in Self.stringFields(of: node) { data(key, value, &out) }
            if let parameters = node.parameters { data("parameters", String(parameters), &out) }
            if let contextLength = node.contextLength { data("context_length", String(contextLength), &out) }
            if !node.hubIDs.isEmpty { data("hub_ids", node.hubIDs.joined(separator: " "), &out) }
            if !node.corrections.isEmpty {
                data("corrections", node.corrections.map { "\($0.field): survey says \($0.survey), fact \($0.fact) (\($0.source))" }.joined(separator: "; "), &out)
            }
            for fact in node.facts.keys.sorted() { data(factKeyID[fact]!, node.facts[fact]!, &out) }
            out.write("</node>\n")
        }
        for edge in graph.edges {
            out.write("    <edge source=\"")
            out.writeXMLEscaped(edge.parent)
            out.write("\" target=\"")
            out.writeXMLEscaped(edge.child)
            out.write("\">")
            data("relation", edge.relation.rawValue, &out)
            data("provenance", edge.provenance.rawValue, &out)
            data("confidence", NodeLinkJSONExporter.number(edge.confidence), &out)
            if !edge.evidence.isEmpty { data("evidence", edge.evidence, &out) }
            out.write("</edge>\n")
        }
        out.write("  </graph>\n</graphml>\n")
    }

    private func data(_ key: String, _ value: String, _ out: inout OutputBuffer) {
        out.write("<data key=\"")
        out.write(key)
        out.write("\">")
        out.writeXMLEscaped(value)
        out.write("</data>")
    }
}
