import Foundation
import LineageGraph

/// The curated catalog (`Graph/*.yaml`) parsed and checked as a whole.
public struct Catalog: Sendable {
    public var batch: ImportBatch
    /// Changes whenever any file's name or bytes change: the store reloads on a new digest.
    public var digest: String
    public var fileCount: Int
}

/// Reads the catalog files (schema: Graph/README.md). Everything is checked before anything
/// is returned: ids unique across files, parents known, relations and licenses from the
/// vocabulary, dates and sizes well formed, and the edges acyclic.
public enum CatalogLoader {
    public static func load(directory: URL) throws -> Catalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw ImportError(file: directory.path, message: "cannot read the catalog directory: \(error.localizedDescription)")
        }
        let files = try names.map { name -> (name: String, text: String) in
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ImportError(file: url.path, message: "cannot read the file")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ImportError(file: url.path, message: "not UTF-8 text")
            }
            return (url.path, text)
        }
        return try load(files: files)
    }

    /// `files` are (name as shown in errors, text) pairs.
    public static func load(files: [(name: String, text: String)]) throws -> Catalog {
        var batch = ImportBatch()
        var definedAt: [String: String] = [:]  // id -> "file:line", for duplicate reports
        var pendingParents: [(edge: LineageEdge, at: YAMLFields)] = []
        var digest = FNV1a()
        for file in files {
            digest.add(file.name.split(separator: "/").last.map(String.init) ?? file.name)
            digest.add(file.text)
            guard let root = try YAMLFields.parse(file.text, file: file.name) else { continue }
            let top = try root.mapping(allowed: ["family", "name", "organization", "description", "links", "models", "datasets"])
            var familyID: String?
            var familyOrganization: String?
            if let familyField = top["family"] {
                let id = try familyField.requiredString()
                try checkSlug(id, at: familyField)
                guard !batch.families.contains(where: { $0.id == id }) else {
                    throw familyField.error("family '\(id)' is defined in another file too")
                }
                familyOrganization = try top["organization"]?.string()
                batch.families.append(Family(
                    id: id, name: try top["name"]?.string() ?? id, organization: familyOrganization,
                    description: try top["description"]?.string(), links: try top["links"]?.stringMap() ?? [:]))
                familyID = id
            } else if top["models"] != nil {
                throw root.error("a file with `models` needs a `family` id")
            }
            for entry in try top["models"]?.elements() ?? [] {
                let (node, parents) = try readModel(entry, family: familyID, organization: familyOrganization)
                if let previous = definedAt[node.id] {
                    throw entry.error("id '\(node.id)' is already defined at \(previous)", field: entry.path + ".id")
                }
                definedAt[node.id] = "\(file.name):\(entry.line ?? 0)"
                batch.nodes.append(node)
                pendingParents += parents
            }
            for entry in try top["datasets"]?.elements() ?? [] {
                let node = try readDataset(entry)
                if let previous = definedAt[node.id] {
                    throw entry.error("id '\(node.id)' is already defined at \(previous)", field: entry.path + ".id")
                }
                definedAt[node.id] = "\(file.name):\(entry.line ?? 0)"
                batch.nodes.append(node)
            }
        }
        for (edge, at) in pendingParents where definedAt[edge.parent] == nil {
            throw at.error("'\(edge.parent)' is not defined in the catalog (a model or dataset id)")
        }
        batch.edges = pendingParents.map(\.edge)
        if let cycle = LineageGraph.findCycle(edges: batch.edges.map { ($0.parent, $0.child) }) {
            throw ImportError(file: files.first.map { URL(fileURLWithPath: $0.name).deletingLastPathComponent().path } ?? "catalog",
                              message: "the parents form a cycle: \(cycle.joined(separator: " -> "))")
        }
        // Kind follows from the incoming relations (a chat model is finetuned, a delta is a delta).
        var incoming: [String: [Relation]] = [:]
        for edge in batch.edges { incoming[edge.child, default: []].append(edge.relation) }
        for position in batch.nodes.indices where batch.nodes[position].kind != .dataset {
            batch.nodes[position].kind = NodeKind.inferred(fromIncoming: incoming[batch.nodes[position].id] ?? [])
        }
        return Catalog(batch: batch, digest: digest.hex, fileCount: files.count)
    }

    static let modelKeys: Set<String> = [
        "id", "name", "hub", "organization", "released", "parameters", "size_label", "context_length",
        "license", "architecture", "availability", "training", "languages", "language_count",
        "parents", "datasets", "corrections", "notes", "links",
    ]

    private static func readModel(
        _ entry: YAMLFields, family: String?, organization: String?
    ) throws -> (LineageNode, [(edge: LineageEdge, at: YAMLFields)]) {
        let fields = try entry.mapping(allowed: modelKeys)
        guard let idField = fields["id"] else { throw entry.error("every model needs an `id`") }
        let id = try idField.requiredString()
        try checkSlug(id, at: idField)
        var node = LineageNode(id: id, name: try fields["name"]?.string(), family: family)
        node.organization = try fields["organization"]?.string() ?? organization
        node.hubIDs = try fields["hub"]?.stringList() ?? []
        for (position, hubID) in node.hubIDs.enumerated() where !HubRepoID.isValid(hubID) {
            throw YAMLFields(node: fields["hub"]!.node, file: entry.file, path: "\(fields["hub"]!.path)[\(position)]")
                .error("'\(hubID)' is not a Hugging Face repo id (org/name)")
        }
        if let released = fields["released"] { node.released = try checkDate(released) }
        if let parameters = fields["parameters"], let text = try parameters.string() {
            guard let count = SizeLabel.parameterCount(text) else {
                throw parameters.error("expected a count like 6.7B or 560M, found '\(text)'")
            }
            node.parameters = count
            node.sizeLabel = text
        }
        if let sizeLabel = try fields["size_label"]?.string() { node.sizeLabel = sizeLabel }
        node.contextLength = try fields["context_length"]?.integer()
        if let license = fields["license"], let text = try license.string() {
            guard LicenseTerms.known[text] != nil else {
                throw license.error("unknown license '\(text)' (allowed: \(LicenseTerms.known.keys.sorted().joined(separator: ", ")))")
            }
            node.license = text
        }
        node.architecture = try fields["architecture"]?.string()
        if let availability = fields["availability"], let text = try availability.string() {
            let allowed = ["open", "gated", "delta", "closed", "unreleased"]
            guard allowed.contains(text) else {
                throw availability.error("unknown availability '\(text)' (allowed: \(allowed.joined(separator: ", ")))")
            }
            node.availability = text
        }
        if let training = fields["training"] {
            for (key, value) in try training.mapping(allowed: ["tokens", "hardware", "duration", "data"]) {
                node.facts["training.\(key)"] = try value.string()
            }
        }
        if let languages = try fields["languages"]?.stringList(), !languages.isEmpty {
            node.facts["languages"] = languages.joined(separator: ", ")
        }
        if let counts = fields["language_count"] {
            for (key, value) in try counts.mapping(allowed: ["natural", "programming"]) {
                node.facts["language_count.\(key)"] = try value.integer().map(String.init)
            }
        }
        if let notes = try fields["notes"]?.string() { node.facts["notes"] = notes }
        for (key, value) in try fields["links"]?.stringMap() ?? [:] { node.facts["links.\(key)"] = value }
        for correction in try fields["corrections"]?.elements() ?? [] {
            let parts = try correction.mapping(allowed: ["field", "survey", "fact", "source"])
            func required(_ key: String) throws -> String {
                guard let part = parts[key] else { throw correction.error("a correction needs `\(key)`") }
                return try part.requiredString()
            }
            node.corrections.append(Correction(field: try required("field"), survey: try required("survey"),
                                               fact: try required("fact"), source: try required("source")))
        }
        var parents: [(edge: LineageEdge, at: YAMLFields)] = []
        for parent in try fields["parents"]?.elements() ?? [] {
            let parts = try parent.mapping(allowed: ["id", "relation", "evidence", "confidence"])
            guard let parentID = try parts["id"]?.requiredString() else { throw parent.error("a parent needs an `id`") }
            guard let relationField = parts["relation"] else { throw parent.error("a parent needs a `relation`") }
            let relationName = try relationField.requiredString()
            guard let relation = Relation(rawValue: relationName) else {
                throw relationField.error("unknown relation '\(relationName)' (allowed: \(Relation.allNames))")
            }
            let confidence = try parts["confidence"]?.double() ?? 1.0
            guard (0...1).contains(confidence) else { throw parts["confidence"]!.error("confidence must be between 0 and 1") }
            guard parentID != id else { throw parent.error("a model cannot be its own parent") }
            parents.append((LineageEdge(parent: parentID, child: id, relation: relation, provenance: .curated,
                                        confidence: confidence, evidence: try parts["evidence"]?.string() ?? ""), parent))
        }
        for dataset in try fields["datasets"]?.elements() ?? [] {
            let datasetID = try dataset.requiredString()
            parents.append((LineageEdge(parent: datasetID, child: id, relation: .trainedOn, provenance: .curated,
                                        evidence: "catalog: datasets"), dataset))
        }
        return (node, parents)
    }

    private static func readDataset(_ entry: YAMLFields) throws -> LineageNode {
        let fields = try entry.mapping(allowed: [
            "id", "name", "organization", "released", "hub", "license", "tokens", "description",
            "derived_from", "links", "languages", "notes", "size",
        ])
        guard let idField = fields["id"] else { throw entry.error("every dataset needs an `id`") }
        let id = try idField.requiredString()
        try checkSlug(id, at: idField)
        var node = LineageNode(id: id, name: try fields["name"]?.string(), kind: .dataset, family: nil)
        node.organization = try fields["organization"]?.string()
        if let released = fields["released"] { node.released = try checkDate(released) }
        node.hubIDs = try fields["hub"]?.stringList() ?? []
        if let license = fields["license"], let text = try license.string() {
            guard LicenseTerms.known[text] != nil else {
                throw license.error("unknown license '\(text)' (allowed: \(LicenseTerms.known.keys.sorted().joined(separator: ", ")))")
            }
            node.license = text
        }
        for key in ["tokens", "description", "notes", "size"] {
            if let value = try fields[key]?.string() { node.facts[key] = value }
        }
        if let derived = try fields["derived_from"]?.stringList(), !derived.isEmpty {
            node.facts["derived_from"] = derived.joined(separator: ", ")
        }
        if let languages = try fields["languages"]?.stringList(), !languages.isEmpty {
            node.facts["languages"] = languages.joined(separator: ", ")
        }
        for (key, value) in try fields["links"]?.stringMap() ?? [:] { node.facts["links.\(key)"] = value }
        return node
    }

    private static func checkSlug(_ id: String, at field: YAMLFields) throws {
        let valid = !id.isEmpty && id.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2E || byte == 0x5F
        }
        guard valid else {
            throw field.error("'\(id)' is not a catalog id: use lowercase letters, digits, '-', '.' and '_'")
        }
    }

    private static func checkDate(_ field: YAMLFields) throws -> String? {
        guard let text = try field.string() else { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let valid = (parts.count == 2 || parts.count == 3) && parts[0].count == 4
            && parts.dropFirst().allSatisfy { $0.count == 2 } && parts.allSatisfy { $0.allSatisfy(\.isNumber) }
            && (1...12).contains(Int(parts[1]) ?? 0) && (parts.count == 2 || (1...31).contains(Int(parts[2]) ?? 0))
        guard valid else { throw field.error("expected a date YYYY-MM-DD or YYYY-MM, found '\(text)'") }
        return text
    }
}

/// FNV-1a, 64 bits: a change detector for the catalog's files, not a security digest.
struct FNV1a {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            state ^= UInt64(byte)
            state = state &* 0x0000_0100_0000_01B3
        }
        state ^= 0xFF  // separator, so ("ab", "c") and ("a", "bc") differ
        state = state &* 0x0000_0100_0000_01B3
    }

    var hex: String { String(state, radix: 16) }
}

/// Parameter counts written the way model names write them: `560M`, `6.7B`, `1.1T`.
public enum SizeLabel {
    public static func parameterCount(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let suffix = trimmed.last else { return nil }
        let multiplier: Double
        switch suffix.uppercased() {
        case "K": multiplier = 1e3
        case "M": multiplier = 1e6
        case "B": multiplier = 1e9
        case "T": multiplier = 1e12
        default: return Int64(trimmed)
        }
        guard let number = Double(trimmed.dropLast()), number > 0, number.isFinite else { return nil }
        return Int64((number * multiplier).rounded())
    }
}
