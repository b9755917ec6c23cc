import LineageGraph
import Testing

@Suite struct GraphQueryTests {
    @Test func descendantsNearestFirstAndLimitedByDepth() throws {
        let graph = try sampleGraph()
        let all = graph.ids(graph.descendants(of: graph.at("llama-7b")))
        #expect(Set(all) == ["alpaca-7b", "vicuna-7b", "llama-2-7b", "openllama-7b", "taiwan-llama", "apache-tune", "merged"])
        #expect(all.last == "merged")  // three edges away, after everything nearer
        #expect(Set(graph.ids(graph.descendants(of: graph.at("llama-7b"), depth: 1))) == ["alpaca-7b", "vicuna-7b", "llama-2-7b", "openllama-7b"])
        #expect(graph.descendants(of: graph.at("llama-7b"), depth: 0).isEmpty)
        #expect(graph.descendants(of: graph.at("lonely")).isEmpty)
    }

    @Test func ancestorsIncludeEveryParentOfAMerge() throws {
        let graph = try sampleGraph()
        #expect(Set(graph.ids(graph.ancestors(of: graph.at("merged")))) == ["taiwan-llama", "apache-tune", "llama-2-7b", "llama-7b"])
        #expect(Set(graph.ids(graph.ancestors(of: graph.at("vicuna-7b")))) == ["llama-7b", "sharegpt"])
        #expect(graph.ids(graph.ancestors(of: graph.at("merged"), depth: 1)).sorted() == ["apache-tune", "taiwan-llama"])
    }

    @Test func directedPathFollowsEdges() throws {
        let graph = try sampleGraph()
        let steps = try #require(graph.path(from: graph.at("llama-7b"), to: graph.at("merged")))
        #expect(graph.ids(steps.map(\.node)).first == "llama-7b")
        #expect(graph.ids(steps.map(\.node)).last == "merged")
        #expect(steps.count == 4)
        #expect(steps.dropFirst().allSatisfy { $0.forward })
        // Upward when the target is an ancestor.
        let up = try #require(graph.path(from: graph.at("taiwan-llama"), to: graph.at("llama-7b")))
        #expect(graph.ids(up.map(\.node)) == ["taiwan-llama", "llama-2-7b", "llama-7b"])
        #expect(up.dropFirst().allSatisfy { !$0.forward })
    }

    @Test func pathBetweenSiblingsGoesThroughTheNearestCommonAncestor() throws {
        let graph = try sampleGraph()
        let steps = try #require(graph.path(from: graph.at("alpaca-7b"), to: graph.at("taiwan-llama")))
        #expect(graph.ids(steps.map(\.node)) == ["alpaca-7b", "llama-7b", "llama-2-7b", "taiwan-llama"])
        #expect(steps.map(\.forward) == [false, false, true, true])
        #expect(graph.path(from: graph.at("alpaca-7b"), to: graph.at("lonely")) == nil)
    }

    @Test func lookupByIdHubAliasAndName() throws {
        let graph = try sampleGraph()
        #expect(graph.lookup("llama-2-7b") == graph.at("llama-2-7b"))
        #expect(graph.lookup("META-LLAMA/llama-2-7b-hf") == graph.at("llama-2-7b"))
        #expect(graph.lookup("alpaca 7b") == graph.at("alpaca-7b"))
        #expect(graph.lookup("nothing") == nil)
    }

    @Test func familySelectionAddsTheParentsOfItsRoots() throws {
        let graph = try sampleGraph()
        let selection = graph.familySelection("taiwan-llama")
        #expect(Set(graph.ids(selection)) == ["taiwan-llama", "llama-2-7b"])
        let sub = graph.subgraph(selection)
        #expect(sub.edges.count == 1)
        #expect(sub.families.map(\.id).sorted() == ["llama-2", "taiwan-llama"])
    }

    @Test func cyclesAreFoundAndPrintedInEdgeDirection() throws {
        let cycle = try #require(LineageGraph.findCycle(edges: [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("x", "a")]))
        #expect(cycle.first == cycle.last)
        #expect(cycle.count == 4)
        // Each consecutive pair is an edge.
        let edges: Set<String> = ["a>b", "b>c", "c>a"]
        for (from, to) in zip(cycle, cycle.dropFirst()) { #expect(edges.contains("\(from)>\(to)")) }
        #expect(LineageGraph.findCycle(edges: [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]) == nil)
        #expect(try sampleGraph().findCycle() == nil)
    }

    @Test func buildingRejectsDuplicatesAndDanglingEdges() {
        #expect(throws: LineageGraph.BuildError.duplicateNode("a")) {
            try LineageGraph(nodes: [LineageNode(id: "a"), LineageNode(id: "a")], edges: [])
        }
        #expect(throws: LineageGraph.BuildError.unknownEndpoint(edge: "a -> b", missing: "b")) {
            try LineageGraph(nodes: [LineageNode(id: "a")], edges: [LineageEdge(parent: "a", child: "b", relation: .finetune, provenance: .curated)])
        }
    }

    @Test func theIdIndexFindsEveryIdAndMatchesStringEquality() throws {
        // Past 100,000 nodes the ids are hashed on both cores: both halves must be found.
        let nodes = (0..<100_003).map { LineageNode(id: "org\($0 % 97)/model-\($0)") }
        let graph = try LineageGraph(nodes: nodes, edges: [])
        for position in [0, 1, 50_001, 100_002] { #expect(graph.index["org\(position % 97)/model-\(position)"] == Int32(position)) }
        #expect(graph.index["org0/model-100003"] == nil)
        #expect(graph.index.count == 100_003)
        // Canonically equivalent spellings are one id, as for Swift strings (and Dictionary).
        #expect(throws: LineageGraph.BuildError.duplicateNode("cafe\u{301}")) {
            try LineageGraph(nodes: [LineageNode(id: "caf\u{E9}"), LineageNode(id: "cafe\u{301}")], edges: [])
        }
        #expect(try LineageGraph(nodes: [LineageNode(id: "caf\u{E9}")], edges: []).index["cafe\u{301}"] == 0)
    }

    @Test func knownEndpointsBuildTheSameGraphAndAreChecked() throws {
        let sample = try sampleGraph()
        let graph = try LineageGraph(nodes: sample.nodes, edges: sample.edges, endpoints: sample.edgeEndpoints, families: sample.families)
        for node in 0..<Int32(graph.nodes.count) {
            #expect(graph.children(of: node) == sample.children(of: node))
            #expect(graph.parents(of: node) == sample.parents(of: node))
        }
        let edge = sample.edges[0]
        var wrong = sample.edgeEndpoints
        wrong[0].child = wrong[0].parent
        #expect(throws: LineageGraph.BuildError.unknownEndpoint(edge: "\(edge.parent) -> \(edge.child)", missing: edge.child)) {
            try LineageGraph(nodes: sample.nodes, edges: sample.edges, endpoints: wrong)
        }
        wrong[0].child = Int32(sample.nodes.count)
        #expect(throws: LineageGraph.BuildError.unknownEndpoint(edge: "\(edge.parent) -> \(edge.child)", missing: edge.child)) {
            try LineageGraph(nodes: sample.nodes, edges: sample.edges, endpoints: wrong)
        }
        #expect(throws: LineageGraph.BuildError.endpointCount(edges: sample.edges.count, endpoints: 1)) {
            try LineageGraph(nodes: sample.nodes, edges: sample.edges, endpoints: [sample.edgeEndpoints[0]])
        }
    }

    @Test func relationNamesIncludeTheHubSpellings() {
        #expect(Relation(name: "finetune") == .finetune)
        #expect(Relation(name: "fine-tune") == .finetune)
        #expect(Relation(name: "quantized") == .quantized)
        #expect(Relation(name: "continued_pretrain") == .continuedPretrain)
        #expect(Relation(name: "Adapter") == .adapter)
        #expect(Relation(name: "copy") == nil)
        #expect(Relation.allNames.contains("weight-delta"))
    }

    @Test func kindFollowsIncomingRelations() {
        #expect(NodeKind.inferred(fromIncoming: []) == .pretrained)
        #expect(NodeKind.inferred(fromIncoming: [.reproduction, .trainedOn]) == .pretrained)
        #expect(NodeKind.inferred(fromIncoming: [.chat, .trainedOn]) == .finetuned)
        #expect(NodeKind.inferred(fromIncoming: [.merge, .merge]) == .merge)
        #expect(NodeKind.inferred(fromIncoming: [.quantized]) == .quantized)
        #expect(NodeKind.inferred(fromIncoming: [.weightDelta]) == .weightDelta)
    }
}
