/// What a license lets a derivative do: enough to tell when a model's declared license
/// cannot be right given the licenses of the models whose weights it carries.
public struct LicenseTerms: Sendable, Hashable {
    public enum Category: String, Sendable {
        /// Anything goes with attribution (Apache-2.0, MIT, CC-BY).
        case permissive
        /// Derivatives must keep the same license (CC-BY-SA, GPL).
        case shareAlike = "share-alike"
        /// Use-based restrictions that must be passed on to derivatives (OpenRAIL, BLOOM RAIL).
        case responsibleUse = "responsible-use"
        /// A vendor license that derivatives must carry (Llama 2, Falcon 180B, Baichuan, ChatGLM).
        case vendor
        /// No commercial use (CC-BY-NC, LLaMA 1, OPT-175B).
        case nonCommercial = "non-commercial"
        /// Not released under any license.
        case proprietary
        case unknown
    }

    public let id: String
    public let category: Category
    public let commercialUse: Bool

    /// The license ids the catalog uses (Graph/README.md lists them).
    public static let known: [String: LicenseTerms] = {
        let table: [(String, Category, Bool)] = [
            ("apache-2.0", .permissive, true), ("mit", .permissive, true),
            ("bsd-3-clause", .permissive, true), ("cc-by-4.0", .permissive, true),
            ("cc0-1.0", .permissive, true), ("odc-by", .permissive, true),
            ("cc-by-sa-4.0", .shareAlike, true), ("gpl-3.0", .shareAlike, true),
            ("agpl-3.0", .shareAlike, true),
            ("cc-by-nc-4.0", .nonCommercial, false), ("cc-by-nc-sa-4.0", .nonCommercial, false),
            ("llama-1-noncommercial", .nonCommercial, false),
            ("opt-175b-noncommercial", .nonCommercial, false),
            ("openrail", .responsibleUse, true), ("openrail++", .responsibleUse, true),
            ("bigscience-openrail-m", .responsibleUse, true),
            ("bigscience-bloom-rail-1.0", .responsibleUse, true),
            ("creativeml-openrail-m", .responsibleUse, true), ("bigcode-openrail-m", .responsibleUse, true),
            ("llama2", .vendor, true), ("llama3", .vendor, true), ("llama3.1", .vendor, true),
            ("falcon-180b-tii-license", .vendor, true), ("tii-falcon-llm", .vendor, true),
            ("taide-l-models-community-license-agreement", .vendor, true),
            ("llama3-taide-models-community-license-agreement", .vendor, true),
            ("baichuan", .vendor, true), ("baichuan2", .vendor, true),
            ("chatglm-6b", .vendor, false), ("chatglm2-6b", .vendor, true),
            ("openai-tos", .vendor, false),
            ("proprietary", .proprietary, false), ("unknown", .unknown, false),
            ("other", .unknown, false),
        ]
        return Dictionary(uniqueKeysWithValues: table.map { ($0.0, LicenseTerms(id: $0.0, category: $0.1, commercialUse: $0.2)) })
    }()

    public static func terms(for license: String) -> LicenseTerms {
        known[license.lowercased()] ?? LicenseTerms(id: license, category: .unknown, commercialUse: false)
    }
}

/// A license declared on a node that does not fit a license up its tree.
public struct LicenseFinding: Sendable, Hashable {
    public enum Severity: String, Sendable, Comparable {
        case conflict
        case warning

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs == .conflict && rhs == .warning }
    }

    public let node: String
    public let ancestor: String
    public let severity: Severity
    public let message: String
}

extension LineageGraph {
    /// Walks up from `node` through every edge that carries weights (fine-tunes, adapters,
    /// merges, deltas, quantizations; not reproductions or borrowed architectures, whose
    /// weights are new) and through the datasets it was trained on, and reports each base
    /// whose license terms the node's declared license does not honour.
    public func licenseFindings(for node: Int32) -> [LicenseFinding] {
        let subject = nodes[Int(node)]
        guard let declared = subject.license else { return [] }
        let mine = LicenseTerms.terms(for: declared)
        var findings: [LicenseFinding] = []
        var seen: Set<Int32> = [node]
        var frontier: [Int32] = [node]
        while let current = frontier.popLast() {
            for edgeIndex in incomingEdges(of: current) {
                let edge = edges[Int(edgeIndex)]
                let parentIndex = edgeEndpoints[Int(edgeIndex)].parent
                guard edge.relation.carriesWeights || edge.relation == .trainedOn,
                      seen.insert(parentIndex).inserted else { continue }
                let parent = nodes[Int(parentIndex)]
                if edge.relation.carriesWeights { frontier.append(parentIndex) }
                guard let theirs = parent.license.map(LicenseTerms.terms(for:)) else { continue }
                if let finding = Self.compare(subject: subject, mine: mine, ancestor: parent,
                                              theirs: theirs, viaData: edge.relation == .trainedOn) {
                    findings.append(finding)
                }
            }
        }
        return findings.sorted { ($0.severity, $0.ancestor) < ($1.severity, $1.ancestor) }
    }

    /// Every finding in the graph, by node.
    public func licenseFindings() -> [LicenseFinding] {
        (0..<Int32(nodes.count)).flatMap { licenseFindings(for: $0) }
    }

    private static func compare(
        subject: LineageNode, mine: LicenseTerms, ancestor: LineageNode, theirs: LicenseTerms,
        viaData: Bool
    ) -> LicenseFinding? {
        if mine.id == theirs.id || theirs.category == .permissive || theirs.category == .unknown {
            return nil
        }
        let what = viaData ? "was trained on \(ancestor.id) (\(theirs.id))" : "derives from \(ancestor.id) (\(theirs.id))"
        var problem: String?
        if mine.commercialUse && !theirs.commercialUse {
            problem = "declares \(mine.id), which allows commercial use, but \(what), which does not"
        } else if mine.category == .permissive || mine.category == .unknown && mine.id != "unknown" && mine.id != "other" {
            switch theirs.category {
            case .shareAlike: problem = "declares \(mine.id) but \(what), which requires derivatives to keep that license"
            case .responsibleUse: problem = "declares \(mine.id) but \(what), whose use restrictions must be passed on to derivatives"
            case .vendor, .nonCommercial: problem = "declares \(mine.id) but \(what), whose terms bind derivatives"
            case .proprietary: problem = "declares \(mine.id) but \(what), which is not released under an open license"
            case .permissive, .unknown: problem = nil
            }
        } else if theirs.category == .shareAlike && mine.id != theirs.id {
            problem = "declares \(mine.id) but \(what), which requires derivatives to keep that license"
        }
        guard let problem else { return nil }
        // Data licenses bind the weights less directly than a base model's: a warning.
        return LicenseFinding(node: subject.id, ancestor: ancestor.id,
                              severity: viaData ? .warning : .conflict,
                              message: "\(subject.id) \(problem)")
    }
}
