/// The formats `lineage export` writes.
public enum ExportFormat: String, CaseIterable, Sendable {
    case dot
    case json
    case treeJSON = "tree-json"
    case graphml
    case mermaid

    public func export(_ graph: LineageGraph) -> [UInt8] {
        switch self {
        case .dot: DOTExporter().export(graph)
        case .json: NodeLinkJSONExporter().export(graph)
        case .treeJSON: TreeJSONExporter().export(graph)
        case .graphml: GraphMLExporter().export(graph)
        case .mermaid: MermaidExporter().export(graph)
        }
    }
}

/// Drawing choices shared by the DOT and Mermaid exporters.
enum Drawing {
    static func dotShape(_ kind: NodeKind) -> String {
        switch kind {
        case .pretrained: "box"
        case .finetuned: "ellipse"
        case .adapter: "component"
        case .merge: "hexagon"
        case .quantized: "cds"
        case .weightDelta: "parallelogram"
        case .dataset: "cylinder"
        }
    }

    static func dotFill(_ kind: NodeKind) -> String {
        switch kind {
        case .pretrained: "#dbe9f6"
        case .finetuned: "#ffffff"
        case .adapter: "#fdf2d0"
        case .merge: "#e8dff5"
        case .quantized: "#e3f4e1"
        case .weightDelta: "#fbe3e3"
        case .dataset: "#eeeeee"
        }
    }

    /// Edge colour says the relation.
    static func dotColor(_ relation: Relation) -> String {
        switch relation {
        case .finetune: "#333333"
        case .instruct: "#1f77b4"
        case .chat: "#2ca02c"
        case .continuedPretrain: "#9467bd"
        case .adapter: "#bcbd22"
        case .merge: "#8c564b"
        case .quantized: "#17becf"
        case .distill: "#e377c2"
        case .weightDelta: "#d62728"
        case .reproduction: "#ff7f0e"
        case .architecture: "#7f7f7f"
        case .successor: "#000000"
        case .trainedOn: "#aaaaaa"
        }
    }

    /// Edge line style says the provenance: solid for curated facts, dashed for what a
    /// model's files declare, bold for what the weights show, dotted for inferences.
    static func dotStyle(_ provenance: Provenance) -> String {
        switch provenance {
        case .curated: "solid"
        case .declared: "dashed"
        case .weights: "bold"
        case .inferred: "dotted"
        }
    }
}
