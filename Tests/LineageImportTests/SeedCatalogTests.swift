import Foundation
import LineageGraph
import LineageImport
import Testing

/// The real Graph/ catalog: it must load, and the facts the seed survey is about must be in it
/// with the relation that is true.
@Suite struct SeedCatalogTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Graph")

    func graph() throws -> LineageGraph {
        let catalog = try CatalogLoader.load(directory: Self.directory)
        return try LineageGraph(nodes: catalog.batch.nodes, edges: catalog.batch.edges, families: catalog.batch.families)
    }

    func edge(_ graph: LineageGraph, _ parent: String, _ child: String) -> LineageEdge? {
        graph.edges.first { $0.parent == parent && $0.child == child }
    }

    @Test func everySeedFamilyIsThere() throws {
        let graph = try graph()
        let families = Set(graph.families.map(\.id))
        for family in ["bloom", "bloomz", "opt", "llama", "llama-2", "alpaca", "vicuna", "mpt", "openllama", "rwkv",
                       "tinyllama", "falcon", "phi", "chatglm", "baichuan", "linly", "openbuddy", "taiwan-llama",
                       "ffm", "taide", "pythia", "stablelm", "belle", "panda"] {
            #expect(families.contains(family), "family \(family) missing")
        }
        for dataset in ["redpajama", "sharegpt", "xp3mt"] {
            #expect(graph.nodes.first { $0.id == dataset }?.kind == .dataset, "dataset \(dataset) missing")
        }
        #expect(graph.findCycle() == nil)
    }

    @Test func seedModelsCarryTheirFacts() throws {
        let graph = try graph()
        for id in ["llama-7b", "llama-13b", "llama-65b", "llama-2-7b", "llama-2-7b-chat", "alpaca-7b",
                   "vicuna-7b-v1-5", "open-llama-3b", "falcon-180b", "falcon-180b-chat", "bloom-176b", "phi-1", "phi-1-5"] {
            let node = try #require(graph.lookup(id).map { graph.nodes[Int($0)] }, "model \(id) missing")
            #expect(node.license != nil, "\(id) has no license")
            #expect(node.released != nil, "\(id) has no release date")
            #expect(node.parameters != nil, "\(id) has no parameter count")
        }
        // The survey gives Phi-1's size as 1.1B: the catalog records 1.3B and says so.
        let phi = graph.nodes[Int(try #require(graph.lookup("phi-1")))]
        #expect(phi.parameters == 1_300_000_000)
        #expect(phi.corrections.contains { $0.field == "parameters" && $0.survey == "1.1B" })
        #expect(graph.lookup("meta-llama/Llama-2-7b-hf") == graph.lookup("llama-2-7b"))
    }

    @Test func relationsAreTheTrueOnes() throws {
        let graph = try graph()
        #expect(edge(graph, "llama-7b", "alpaca-7b")?.relation == .instruct)
        #expect(edge(graph, "llama-2-7b", "llama-2-7b-chat")?.relation == .chat)
        #expect(edge(graph, "llama-2-7b", "vicuna-7b-v1-5") != nil)
        #expect(graph.edges.contains { $0.child == "open-llama-7b" && $0.relation == .reproduction })
        #expect(graph.edges.contains { $0.child == "tinyllama-1b1" && $0.relation == .architecture })
        #expect(graph.edges.contains { $0.child.hasPrefix("llama-2") && $0.parent.hasPrefix("llama-") && $0.relation == .successor })
        #expect(graph.edges.contains { $0.parent == "alpaca-7b" && $0.relation == .weightDelta })
        #expect(graph.edges.contains { $0.parent == "sharegpt" && $0.child.hasPrefix("vicuna") && $0.relation == .trainedOn })
        #expect(graph.edges.contains { $0.parent == "xp3mt" && $0.relation == .trainedOn })
        #expect(graph.edges.contains { $0.parent == "redpajama" && $0.child.hasPrefix("open-llama") })
        // FFM and Taiwan Llama descend from BLOOM and Llama 2.
        let ffmAncestors = Set(graph.ancestors(of: try #require(graph.nodes.firstIndex { $0.family == "ffm" }.map(Int32.init))).map { graph.nodes[Int($0)].family })
        #expect(ffmAncestors.contains("bloom"))
        let taiwan = try #require(graph.nodes.firstIndex { $0.family == "taiwan-llama" }.map(Int32.init))
        #expect(Set(graph.ancestors(of: taiwan).map { graph.nodes[Int($0)].family }).contains("llama-2"))
        #expect(graph.edges.allSatisfy { $0.provenance == .curated })
    }
}
