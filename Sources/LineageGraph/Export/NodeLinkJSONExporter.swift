/// networkx node-link JSON (`networkx.node_link_graph` reads it with its default `edges="edges"`):
/// `{"directed": true, "multigraph": false, "graph": {...}, "nodes": [...], "edges": [...]}`.
public struct NodeLinkJSONExporter: Sendable {
    public init() {}

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 160 + graph.edges.count * 120 + 1024)
        write(graph, into: &out)
        return out.bytes
    }

    public func write(_ graph: LineageGraph, into out: inout OutputBuffer) {
        out.write("{\"directed\": true, \"multigraph\": false, \"graph\": {\"name\": \"lineage\", \"families\": [")
        for (position, family) in graph.families.enumerated() {
            if position > 0 { out.write(", ") }
            out.write("{\"id\": ")
            out.writeJSONString(family.id)
            out.write(", \"name\": ")
            out.writeJSONString(family.name)
            if let organization = family.organization {
                out.write(", \"organization\": ")
                out.writeJSONString(organization)
            }
            out.write("}")
        }
        out.write("]},\n\"nodes\": [\n")
        for (position, node) in graph.nodes.enumerated() {
            if position > 0 { out.write(",\n") }
            Self.writeNodeObject(node, into: &out)
        }
        out.write("\n],\n\"edges\": [\n")
        for (position, edge) in graph.edges.enumerated() {
            if position > 0 { out.write(",\n") }
            out.write("{\"source\": ")
            out.writeJSONString(edge.parent)
            out.write(", \"target\": ")
            out.writeJSONString(edge.child)
            out.write(", \"relation\": \"")
            out.write(edge.relation.rawValue)
            out.write("\", \"provenance\": \"")
            out.write(edge.provenance.rawValue)
            out.write("\", \"confidence\": ")
            out.write(Self.number(edge.confidence))
            if !edge.evidence.isEmpty {
                out.write(", \"evidence\": ")
                out.writeJSONString(edge.evidence)
            }
            out.write("}")
        }
        out.write("\n]}\n")
    }

    /// The node's fields as one JSON object (also used by the tree exporter).
    static func writeNodeFields(_ node: LineageNode, into out: inout OutputBuffer) {
        out.write("\"id\": ")
        out.writeJSONString(node.id)
        out.write(", \"name\": ")
        out.writeJSONString(node.name)
        out.write(", \"kind\": \"")
        out.write(node.kind.rawValue)
        out.write("\"")
        func field(_ key: String, _ value: String?) {
            guard let value else { return }
            out.write(key)
            out.writeJSONString(value)
        }
        field(", \"family\": ", node.family)
        field(", \"license\": ", node.license)
        field(", \"organization\": ", node.organization)
        field(", \"released\": ", node.released)
        field(", \"size_label\": ", node.sizeLabel)
        field(", \"architecture\": ", node.architecture)
        field(", \"availability\": ", node.availability)
        if let parameters = node.parameters {
            out.write(", \"parameters\": ")
            out.write(integer: parameters)
        }
        if let contextLength = node.contextLength {
            out.write(", \"context_length\": ")
            out.write(integer: contextLength)
        }
        if !node.hubIDs.isEmpty {
            out.write(", \"hub_ids\": [")
            for (position, hubID) in node.hubIDs.enumerated() {
                if position > 0 { out.write(", ") }
                out.writeJSONString(hubID)
            }
            out.write("]")
        }
        if !node.facts.isEmpty {
            out.write(", \"facts\": {")
            for (position, key) in node.facts.keys.sorted().enumerated() {
                if position > 0 { out.write(", ") }
                out.writeJSONString(key)
                out.write(": ")
                out.writeJSONString(node.facts[key]!)
            }
            out.write("}")
        }
        if !node.corrections.isEmpty {
            out.write(", \"corrections\": [")
            for (position, correction) in node.corrections.enumerated() {
                if position > 0 { out.write(", ") }
                out.write("{\"field\": ")
                out.writeJSONString(correction.field)
                out.write(", \"survey\": ")
                out.writeJSONString(correction.survey)
                out.write(", \"fact\": ")
                out.writeJSONString(correction.fact)
                out.write(", \"source\": ")
                out.writeJSONString(correction.source)
                out.write("}")
            }
            out.write("]")
        }
    }

    static func writeNodeObject(_ node: LineageNode, into out: inout OutputBuffer) {
        out.write("{")
        writeNodeFields(node, into: &out)
        out.write("}")
    }

    /// A JSON number that reads back as the same Double (no exponent for ordinary values).
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) + ".0" : String(value)
    }
}
