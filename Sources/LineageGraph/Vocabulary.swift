/// How a child node derives from a parent: one relation per edge (the Hub keeps one per model,
/// which cannot say that a merge of a fine-tune and an adapter is both).
public enum Relation: String, CaseIterable, Sendable, Codable, Comparable {
    case finetune
    case instruct
    case chat
    case continuedPretrain = "continued-pretrain"
    case adapter
    case merge
    case quantized
    case distill
    case weightDelta = "weight-delta"
    case reproduction
    case architecture
    case successor
    /// Direction: dataset (parent) -> model (child), "the child was trained on the parent".
    /// Kept in the same parent -> child direction as every other edge, so "ancestors" of a
    /// model include its data and every edge points from what exists first.
    case trainedOn = "trained-on"

    public static func < (lhs: Relation, rhs: Relation) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses a relation name, accepting the Hub's `base_model_relation` spellings too.
    public init?(name: String) {
        let normalized = String(name.lowercased().filter { $0 != " " }.map { $0 == "_" ? "-" : $0 })
        switch normalized {
        case "fine-tune", "finetuned", "fine-tuned": self = .finetune
        case "quantization", "quantize": self = .quantized
        case "continued-pretraining", "continual-pretrain": self = .continuedPretrain
        case "delta": self = .weightDelta
        default:
            guard let relation = Relation(rawValue: normalized) else { return nil }
            self = relation
        }
    }

    /// Whether the child carries (a transform of) the parent's weights. License terms of a
    /// base model bind such children; a reproduction or a borrowed architecture does not.
    public var carriesWeights: Bool {
        switch self {
        case .finetune, .instruct, .chat, .continuedPretrain, .adapter, .merge, .quantized,
             .weightDelta:
            return true
        case .distill, .reproduction, .architecture, .successor, .trainedOn:
            return false
        }
    }

    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Where an edge came from, strongest first.
public enum Provenance: String, CaseIterable, Sendable, Codable {
    /// Hand-checked in the Graph/ catalog.
    case curated
    /// Stated by the model's own files: card front matter, config, adapter config, GGUF.
    case declared
    /// Measured from the weights.
    case weights
    /// Derived by a rule from weaker hints.
    case inferred

    /// Higher wins when two sources state the same edge.
    public var rank: Int {
        switch self {
        case .curated: 3
        case .declared: 2
        case .weights: 1
        case .inferred: 0
        }
    }
}

/// What a node is; exporters draw each kind with its own shape.
public enum NodeKind: String, CaseIterable, Sendable, Codable {
    /// Pretrained from scratch (a foundation model, a reproduction, a new architecture user).
    case pretrained
    /// Weights trained further: fine-tunes, instruction and chat models, continued pretraining.
    case finetuned
    case adapter
    case merge
    case quantized
    /// Published as a difference against another model's weights.
    case weightDelta = "weight-delta"
    case dataset

    /// The kind implied by the relations of a node's incoming edges, when nothing says more.
    public static func inferred(fromIncoming relations: [Relation]) -> NodeKind {
        let weightRelations = relations.filter(\.carriesWeights)
        if weightRelations.contains(.quantized) { return .quantized }
        if weightRelations.contains(.weightDelta) { return .weightDelta }
        if weightRelations.contains(.adapter) { return .adapter }
        if weightRelations.contains(.merge) || weightRelations.count > 1 { return .merge }
        if !weightRelations.isEmpty { return .finetuned }
        // distill, reproduction, architecture, successor, trained-on: new weights
        return .pretrained
    }
}

extension CaseIterable where Self: Equatable, AllCases == [Self] {
    /// The position in `allCases`: lets exporters bucket a million values in an array
    /// instead of hashing each one into a dictionary.
    @inline(__always)
    var ordinal: Int { Self.allCases.firstIndex(of: self)! }
}
