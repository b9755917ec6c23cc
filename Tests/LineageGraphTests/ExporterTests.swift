import Foundation
import LineageGraph
import Testing

@Suite struct ExporterTests {
    func text(_ format: ExportFormat, _ graph: LineageGraph) -> String {
        String(decoding: format.export(graph), as: UTF8.self)
    }

    /// The lines of `dot` between the group opening that contains `header` and its `}`.
    func group(_ dot: String, containing header: String) -> [String] {
        let lines = dot.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.contains(header) }) else { return [] }
        return Array(lines[start...].prefix { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("}") })
    }

    @Test func dotQuotesAndEscapesEveryIdAndLabel() throws {
        let dot = text(.dot, try sampleGraph())
        #expect(dot.hasPrefix("digraph lineage {"))
        #expect(dot.contains(#"subgraph "cluster_llama" {"#))
        #expect(dot.contains(#""taiwan-llama" [label="台灣 \"LLaMA\" \\ v2\nllama2"];"#))
        // Edges are grouped by style: colour says the relation, line style the provenance.
        let instruct = group(dot, containing: ##"edge [color="#1f77b4", style=solid, label="instruct"]"##)
        #expect(instruct.contains(#"    "llama-7b" -> "alpaca-7b";"#))
        let declaredFinetunes = group(dot, containing: ##"edge [color="#333333", style=dashed, label="finetune"]"##)
        #expect(declaredFinetunes.contains(#"    "llama-2-7b" -> "apache-tune" [tooltip="finetune (declared): README.md:3: base_model"];"#))
        // Nodes are grouped by kind: the kind picks the shape.
        #expect(group(dot, containing: "node [shape=cylinder").contains(#"    "sharegpt" [label="ShareGPT\nopenai-tos"];"#))
        #expect(group(dot, containing: "node [shape=hexagon").contains(#"    "merged" [label="Merged\nllama2"];"#))
    }

    @Test func dotDropsControlCharactersAndKeepsKeywordsQuoted() throws {
        let graph = try LineageGraph(
            nodes: [LineageNode(id: "subgraph", name: "a\u{07}b\tc"), LineageNode(id: "edge\\", name: "x\"")],
            edges: [LineageEdge(parent: "subgraph", child: "edge\\", relation: .finetune, provenance: .inferred)])
        let dot = text(.dot, graph)
        #expect(dot.contains(#""subgraph" [label="a b c"];"#))
        #expect(group(dot, containing: ##"edge [color="#333333", style=dotted"##).contains(#"    "subgraph" -> "edge\\";"#))
    }

    @Test func largeGraphsDropEdgeLabels() throws {
        let nodes = (0...5_001).map { LineageNode(id: "n\($0)") }
        let edges = (1...5_001).map { LineageEdge(parent: "n0", child: "n\($0)", relation: .chat, provenance: .curated) }
        let dot = text(.dot, try LineageGraph(nodes: nodes, edges: edges))
        #expect(dot.contains(##"edge [color="#2ca02c", style=solid];"##))
        #expect(!dot.contains("label=\"chat\""))
    }

    @Test func largeGraphsRenderOnBothCoresToTheSameDOT() throws {
        // Past 100,000 edges the ids are rendered in two halves and the edges on the second
        // core: every node and edge line must come out as the one-core path writes it.
        let count = 100_010
        let nodes = (0..<count).map { LineageNode(id: "o\($0 % 7)/m \"\($0)\"", name: $0 % 2 == 0 ? nil : "M\($0)", license: "mit") }
        let edges = (1..<count).map { LineageEdge(parent: nodes[($0 - 1) / 3].id, child: nodes[$0].id, relation: $0 % 5 == 0 ? .merge : .finetune, provenance: .declared) }
        let lines = Set(text(.dot, try LineageGraph(nodes: nodes, edges: edges)).split(separator: "\n").map(String.init))
        #expect(lines.contains(#"    "o0/m \"0\"" [label="o0/m \"0\"\nmit"];"#))
        #expect(lines.contains(#"    "o4/m \"99999\"" [label="M99999\nmit"];"#))
        #expect(lines.contains(#"    "o5/m \"33332\"" -> "o3/m \"99998\"";"#))
        #expect(lines.contains(#"    "o6/m \"33333\"" -> "o5/m \"100000\"";"#))
        #expect(lines.filter { $0.contains(" -> ") }.count == count - 1)
        #expect(lines.filter { $0.contains(" [label=") }.count == count)
    }

    @Test func nodeLinkJSONHasNetworkxShapeAndFields() throws {
        let data = Data(ExportFormat.json.export(try sampleGraph()))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["directed"] as? Bool == true)
        #expect(object["multigraph"] as? Bool == false)
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        let edges = try #require(object["edges"] as? [[String: Any]])
        #expect(nodes.count == 10)
        #expect(edges.count == 9)
        let taiwan = try #require(nodes.first { $0["id"] as? String == "taiwan-llama" })
        #expect(taiwan["name"] as? String == "台灣 \"LLaMA\" \\ v2")
        #expect(taiwan["family"] as? String == "taiwan-llama")
        #expect(taiwan["kind"] as? String == "finetuned")
        #expect(taiwan["license"] as? String == "llama2")
        let llama2 = try #require(nodes.first { $0["id"] as? String == "llama-2-7b" })
        #expect(llama2["hub_ids"] as? [String] == ["meta-llama/Llama-2-7b-hf"])
        let declared = try #require(edges.first { $0["target"] as? String == "apache-tune" })
        #expect(declared["source"] as? String == "llama-2-7b")
        #expect(declared["relation"] as? String == "finetune")
        #expect(declared["provenance"] as? String == "declared")
        #expect(declared["confidence"] as? Double == 0.9)
        #expect(declared["evidence"] as? String == "README.md:3: base_model")
    }

    @Test func jsonEscapesControlCharacters() throws {
        let graph = try LineageGraph(nodes: [LineageNode(id: "a\u{01}\n", name: "\u{1F}\"")], edges: [])
        let data = Data(ExportFormat.json.export(graph))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let node = try #require((object["nodes"] as? [[String: Any]])?.first)
        #expect(node["id"] as? String == "a\u{01}\n")
        #expect(node["name"] as? String == "\u{1F}\"")
    }

    @Test func treeJSONRepeatsMergesUnderEveryParentOnce() throws {
        let data = Data(ExportFormat.treeJSON.export(try sampleGraph()))
        let roots = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(Set(roots.compactMap { $0["id"] as? String }) == ["llama-7b", "sharegpt", "lonely"])
        var appearances: [(repeated: Bool, children: Int?)] = []
        func visit(_ node: [String: Any]) {
            if node["id"] as? String == "merged" {
                appearances.append((node["repeated"] as? Bool ?? false, (node["children"] as? [Any])?.count))
                #expect(node["parents"] as? [String] == ["apache-tune", "taiwan-llama"] || node["parents"] as? [String] == ["taiwan-llama", "apache-tune"])
                #expect(node["relation"] as? String == "merge")
            }
            for child in node["children"] as? [[String: Any]] ?? [] { visit(child) }
        }
        roots.forEach(visit)
        #expect(appearances.count == 2)
        #expect(appearances.filter(\.repeated).count == 1)
    }

    @Test func graphMLDeclaresKeysAndParsesAsXML() throws {
        let xml = text(.graphml, try sampleGraph())
        #expect(xml.contains(#"<key id="relation" for="edge" attr.name="relation" attr.type="string"/>"#))
        #expect(xml.contains(#"<graph id="lineage" edgedefault="directed">"#))
        #expect(xml.contains("<data key=\"name\">台灣 &quot;LLaMA&quot; \\ v2</data>"))
        let keyPosition = try #require(xml.range(of: "<key "))
        let graphPosition = try #require(xml.range(of: "<graph "))
        #expect(keyPosition.lowerBound < graphPosition.lowerBound)
    }

    @Test func mermaidUsesSafeIdsAndEntityCodes() throws {
        let graph = try LineageGraph(
            nodes: [LineageNode(id: "end", name: "end"), LineageNode(id: "x", name: "台灣 \"LLaMA\" \\ v2 #1 <b>")],
            edges: [LineageEdge(parent: "end", child: "x", relation: .chat, provenance: .curated)])
        let mermaid = text(.mermaid, graph)
        #expect(mermaid.hasPrefix("flowchart LR\n"))
        #expect(mermaid.contains(#"n0["end"]:::pretrained"#))
        #expect(mermaid.contains(#"n1["台灣 #quot;LLaMA#quot; \ v2 #35;1 #lt;b#gt;"]"#))
        #expect(mermaid.contains(#"n0 -->|"chat"| n1"#))
        // No line declares a node whose id is a Mermaid keyword.
        #expect(!mermaid.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("end[") })
    }

    @Test func everyFormatHandlesAnEmptyGraph() throws {
        let empty = try LineageGraph(nodes: [], edges: [])
        for format in ExportFormat.allCases { #expect(!format.export(empty).isEmpty) }
        let data = Data(ExportFormat.json.export(empty))
        #expect((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["nodes"] as? [Any] != nil)
    }
}
