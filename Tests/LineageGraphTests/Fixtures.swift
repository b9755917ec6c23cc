import LineageGraph

/// A small lineage with every shape the queries care about: a chain, a fan-out, a merge
/// (two parents), a dataset, a reproduction and an isolated node.
func sampleGraph() throws -> LineageGraph {
    let nodes = [
        LineageNode(id: "llama-7b", name: "LLaMA 7B", family: "llama", license: "llama-1-noncommercial"),
        LineageNode(id: "alpaca-7b", name: "Alpaca 7B", kind: .finetuned, family: "alpaca", license: "cc-by-nc-4.0"),
        LineageNode(id: "vicuna-7b", name: "Vicuna 7B", kind: .finetuned, family: "vicuna", license: "llama-1-noncommercial"),
        LineageNode(id: "llama-2-7b", name: "Llama 2 7B", family: "llama-2", license: "llama2", hubIDs: ["meta-llama/Llama-2-7b-hf"]),
        LineageNode(id: "taiwan-llama", name: "台灣 \"LLaMA\" \\ v2", kind: .finetuned, family: "taiwan-llama", license: "llama2"),
        LineageNode(id: "apache-tune", name: "Apache tune", kind: .finetuned, license: "apache-2.0"),
        LineageNode(id: "merged", name: "Merged", kind: .merge, license: "llama2"),
        LineageNode(id: "openllama-7b", name: "OpenLLaMA 7B", family: "openllama", license: "apache-2.0"),
        LineageNode(id: "sharegpt", name: "ShareGPT", kind: .dataset, license: "openai-tos"),
        LineageNode(id: "lonely", name: "Lonely"),
    ]
    let edges = [
        LineageEdge(parent: "llama-7b", child: "alpaca-7b", relation: .instruct, provenance: .curated),
        LineageEdge(parent: "llama-7b", child: "vicuna-7b", relation: .chat, provenance: .curated),
        LineageEdge(parent: "sharegpt", child: "vicuna-7b", relation: .trainedOn, provenance: .curated),
        LineageEdge(parent: "llama-7b", child: "llama-2-7b", relation: .successor, provenance: .curated),
        LineageEdge(parent: "llama-2-7b", child: "taiwan-llama", relation: .continuedPretrain, provenance: .curated),
        LineageEdge(parent: "llama-2-7b", child: "apache-tune", relation: .finetune, provenance: .declared, confidence: 0.9, evidence: "README.md:3: base_model"),
        LineageEdge(parent: "taiwan-llama", child: "merged", relation: .merge, provenance: .declared),
        LineageEdge(parent: "apache-tune", child: "merged", relation: .merge, provenance: .declared),
        LineageEdge(parent: "llama-7b", child: "openllama-7b", relation: .reproduction, provenance: .curated),
    ]
    let families = [
        Family(id: "llama", name: "LLaMA", organization: "Meta AI"),
        Family(id: "llama-2", name: "Llama 2"), Family(id: "alpaca", name: "Alpaca"),
        Family(id: "vicuna", name: "Vicuna"), Family(id: "taiwan-llama", name: "Taiwan Llama"),
        Family(id: "openllama", name: "OpenLLaMA"),
    ]
    return try LineageGraph(nodes: nodes, edges: edges, families: families)
}

extension LineageGraph {
    func ids(_ indices: some Sequence<Int32>) -> [String] { indices.map { nodes[Int($0)].id } }
    func at(_ id: String) -> Int32 { index[id]! }
}
