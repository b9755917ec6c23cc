/// A model or dataset in the lineage graph.
public struct LineageNode: Sendable, Hashable, Codable {
    /// Stable id: a catalog slug (`llama-2-7b`) or a Hub repo id (`org/name`).
    public var id: String
    public var name: String
    public var kind: NodeKind
    /// Family (catalog file) id, when known.
    public var family: String?
    public var organization: String?
    /// `YYYY-MM-DD` or `YYYY-MM`.
    public var released: String?
    /// Parameter count.
    public var parameters: Int64?
    /// The size in the model's name (`7B` for a 6.7B-parameter model).
    public var sizeLabel: String?
    public var contextLength: Int?
    public var license: String?
    public var architecture: String?
    /// open | gated | delta | closed | unreleased
    public var availability: String?
    /// Hugging Face repo ids, canonical first.
    public var hubIDs: [String]
    /// Further facts as flat dotted keys (`training.tokens`, `links.paper`, `languages`):
    /// flat so that every export format, GraphML included, can carry them.
    public var facts: [String: String]
    /// Where the seed survey or another source was wrong, and what is right.
    public var corrections: [Correction]

    public init(
        id: String, name: String? = nil, kind: NodeKind = .pretrained, family: String? = nil,
        organization: String? = nil, released: String? = nil, parameters: Int64? = nil,
        sizeLabel: String? = nil, contextLength: Int? = nil, license: String? = nil,
        architecture: String? = nil, availability: String? = nil, hubIDs: [String] = [],
        facts: [String: String] = [:], corrections: [Correction] = []
    ) {
        self.id = id
        self.name = name ?? id
        self.kind = kind
        self.family = family
        self.organization = organization
        self.released = released
        self.parameters = parameters
        self.sizeLabel = sizeLabel
        self.contextLength = contextLength
        self.license = license
        self.architecture = architecture
        self.availability = availability
        self.hubIDs = hubIDs
        self.facts = facts
        self.corrections = corrections
    }
}

public struct Correction: Sendable, Hashable, Codable {
    public var field: String
    /// What the survey (or the corrected source) says.
    public var survey: String
    /// What is true.
    public var fact: String
    /// Where the true fact comes from.
    public var source: String

    public init(field: String, survey: String, fact: String, source: String) {
        self.field = field
        self.survey = survey
        self.fact = fact
        self.source = source
    }
}

/// A parent -> child edge with its relation and where the claim comes from.
public struct LineageEdge: Sendable, Hashable, Codable {
    public var parent: String
    public var child: String
    public var relation: Relation
    public var provenance: Provenance
    /// 0...1
    public var confidence: Double
    /// A short note on where the claim comes from: `README.md front matter: base_model`.
    public var evidence: String

    public init(
        parent: String, child: String, relation: Relation, provenance: Provenance,
        confidence: Double = 1.0, evidence: String = ""
    ) {
        self.parent = parent
        self.child = child
        self.relation = relation
        self.provenance = provenance
        self.confidence = confidence
        self.evidence = evidence
    }
}

/// A family of models: one catalog file, drawn as one cluster.
public struct Family: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var organization: String?
    public var description: String?
    public var links: [String: String]

    public init(
        id: String, name: String, organization: String? = nil, description: String? = nil,
        links: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.organization = organization
        self.description = description
        self.links = links
    }
}

/// Everything one import brings: applied to the store as one transaction, or not at all.
public struct ImportBatch: Sendable {
    public var families: [Family]
    public var nodes: [LineageNode]
    public var edges: [LineageEdge]
    /// Ids that the batch only references (a base model named by a card): created as bare
    /// nodes when the store does not know them yet, never overwriting what it knows.
    public var referencedNodes: [LineageNode]
    /// Non-fatal findings (a local path as `base_model`, ...), shown to the user.
    public var warnings: [String]

    public init(
        families: [Family] = [], nodes: [LineageNode] = [], edges: [LineageEdge] = [],
        referencedNodes: [LineageNode] = [], warnings: [String] = []
    ) {
        self.families = families
        self.nodes = nodes
        self.edges = edges
        self.referencedNodes = referencedNodes
        self.warnings = warnings
    }
}
