import Foundation
import GGUF
import LineageGraph

/// Reads what a local copy of a model repository declares about its lineage: the model card's
/// front matter, config.json, adapter_config.json and the metadata of any GGUF file.
public struct ModelDirectoryImporter: Sendable {
    public init() {}

    /// - Parameters:
    ///   - directory: the repository's files.
    ///   - id: the model's id; defaults to `org/name` when the path is a Hub cache entry
    ///     (`models--org--name/snapshots/<commit>`), else the directory's name.
    public func importDirectory(_ directory: URL, id explicitID: String? = nil) throws -> ImportBatch {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ImportError(file: directory.path, message: "not a directory; give the folder of a model repository")
        }
        let id = explicitID ?? Self.defaultID(for: directory)
        var evidence = ModelEvidence(id: id, name: directory.lastPathComponent)
        let readme = directory.appendingPathComponent("README.md")
        if let text = try Self.readText(readme) {
            try evidence.apply(card: try ModelCard.parse(text, file: readme.path))
        }
        let config = directory.appendingPathComponent("config.json")
        if let data = FileManager.default.contents(atPath: config.path) {
            try evidence.apply(config: try JSONFile.object(data, file: config.path), file: config.path)
        }
        let adapter = directory.appendingPathComponent("adapter_config.json")
        if let data = FileManager.default.contents(atPath: adapter.path) {
            try evidence.apply(adapterConfig: try JSONFile.object(data, file: adapter.path), file: adapter.path)
        }
        let ggufFiles = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?
            .filter { $0.lowercased().hasSuffix(".gguf") }.sorted() ?? []
        for name in ggufFiles {
            let url = directory.appendingPathComponent(name)
            // Only the header is read: a GGUF of many gigabytes costs a few kilobytes here.
            let metadata: GGUFMetadata
            do {
                metadata = try GGUFReader.readMetadata(contentsOf: url)
            } catch {
                throw ImportError(file: url.path, message: "not a readable GGUF file: \(error)")
            }
            evidence.apply(gguf: metadata, file: url.path)
        }
        return evidence.batch()
    }

    /// org/name for a Hugging Face cache snapshot (…/models--org--name/snapshots/REV), else the
    /// folder's name.
    public static func defaultID(for directory: URL) -> String {
        let components = directory.standardizedFileURL.pathComponents
        if let cacheEntry = components.last(where: { $0.hasPrefix("models--") }) {
            let parts = cacheEntry.dropFirst("models--".count).components(separatedBy: "--")
            if parts.count == 2 { return parts.joined(separator: "/") }
        }
        return directory.standardizedFileURL.lastPathComponent
    }

    static func readText(_ url: URL) throws -> String? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ImportError(file: url.path, message: "not UTF-8 text")
        }
        return text
    }
}

/// What one model's files say, gathered before it becomes an ImportBatch.
struct ModelEvidence {
    var node: LineageNode
    var edges: [LineageEdge] = []
    var referenced: [LineageNode] = []
    var warnings: [String] = []
    var declaredRelation: Relation?
    var relationEvidence: String?
    var isAdapter = false
    var isQuantized = false
    var weakParent: (id: String, evidence: String)?
    /// Parents named by the card's `base_model`, whose relation the card may leave unsaid.
    var cardParents: Set<String> = []

    init(id: String, name: String) {
        node = LineageNode(id: id, name: name, kind: .pretrained)
    }

    mutating func addParent(_ reference: String, evidence: String, relation: Relation? = nil) {
        switch ModelReference(reference) {
        case .hub(let parent):
            guard parent.lowercased() != node.id.lowercased() else {
                warnings.append("\(evidence): names the model itself ('\(reference)') as its base; ignored")
                return
            }
            if let index = edges.firstIndex(where: { $0.parent.lowercased() == parent.lowercased() }) {
                if let relation { edges[index].relation = relation }
                return
            }
            edges.append(LineageEdge(parent: parent, child: node.id, relation: relation ?? .finetune,
                                     provenance: .declared, confidence: 1.0, evidence: evidence))
            referenced.append(LineageNode(id: parent, name: parent, hubIDs: parent.contains("/") ? [parent] : []))
        case .localPath(let path):
            warnings.append("\(evidence): '\(path)' is a local path, not a Hub repo id; no node made for it")
        case .invalid(let text):
            warnings.append("\(evidence): '\(text)' is not a Hub repo id (org/name); ignored")
        }
    }

    mutating func apply(card: ModelCard) throws {
        for (reference, line) in card.baseModels {
            addParent(reference, evidence: "\(card.file):\(line): base_model")
            if case .hub(let parent) = ModelReference(reference) { cardParents.insert(parent.lowercased()) }
        }
        if let relation = card.baseModelRelation {
            declaredRelation = relation
            relationEvidence = "\(card.file): base_model_relation"
        }
        if let license = card.license { node.license = license }
        for (dataset, line) in card.datasets {
            guard case .hub(let datasetID) = ModelReference(dataset) else {
                warnings.append("\(card.file):\(line): datasets: '\(dataset)' is not a Hub dataset id; ignored")
                continue
            }
            let datasetNodeID = "datasets/" + datasetID
            edges.append(LineageEdge(parent: datasetNodeID, child: node.id, relation: .trainedOn, provenance: .declared,
                                     evidence: "\(card.file):\(line): datasets"))
            referenced.append(LineageNode(id: datasetNodeID, name: datasetID, kind: .dataset, hubIDs: []))
        }
        for (key, value) in card.facts { node.facts[key] = value }
        if let name = card.modelName { node.name = name }
    }

    mutating func apply(config: [String: Any], file: String) throws {
        if let modelType = config["model_type"] as? String { node.architecture = modelType }
        if let architectures = config["architectures"] as? [String], !architectures.isEmpty {
            node.facts["config.architectures"] = architectures.joined(separator: ", ")
        }
        for key in ["max_position_embeddings", "n_positions", "seq_length", "max_seq_len", "max_sequence_length"] {
            if let length = config[key] as? Int, node.contextLength == nil { node.contextLength = length }
        }
        if config["quantization_config"] != nil { isQuantized = true }
        // `_name_or_path` is usually the trainer's local output folder: a weak hint only.
        if let hint = config["_name_or_path"] as? String, case .hub(let parent) = ModelReference(hint),
           parent.contains("/"), parent.lowercased() != node.id.lowercased() {
            weakParent = (parent, "\(file): _name_or_path (a hint, not a declaration)")
        }
    }

    mutating func apply(adapterConfig: [String: Any], file: String) throws {
        isAdapter = true
        if let peft = adapterConfig["peft_type"] as? String { node.facts["adapter.peft_type"] = peft }
        if let rank = adapterConfig["r"] as? Int { node.facts["adapter.r"] = String(rank) }
        if let revision = adapterConfig["revision"] as? String { node.facts["adapter.base_revision"] = revision }
        guard let value = adapterConfig["base_model_name_or_path"], !(value is NSNull) else {
            warnings.append("\(file): base_model_name_or_path is missing; the adapter's base is unknown")
            return
        }
        guard let base = value as? String else {
            throw ImportError(file: file, field: "base_model_name_or_path",
                              message: "expected a string (the base model's Hub repo id), found \(value)")
        }
        addParent(base, evidence: "\(file): base_model_name_or_path", relation: .adapter)
    }

    mutating func apply(gguf: GGUFMetadata, file: String) {
        isQuantized = true
        if node.license == nil, let license = gguf["general.license"]?.stringValue { node.license = license }
        if let architecture = gguf["general.architecture"]?.stringValue, node.architecture == nil {
            node.architecture = architecture
        }
        // general.source.* names the repo this GGUF was converted from; general.base_model.*
        // the models that one was trained from.
        if let source = gguf["general.source.repo_url"]?.stringValue {
            addParent(source, evidence: "\(file): general.source.repo_url", relation: .quantized)
        }
        let count = Int(gguf["general.base_model.count"]?.integerValue ?? 0)
        for index in 0..<max(0, min(count, 64)) {
            let prefix = "general.base_model.\(index)"
            let reference: String?
            if let url = gguf["\(prefix).repo_url"]?.stringValue {
                reference = url
            } else if let name = gguf["\(prefix).name"]?.stringValue {
                let organization = gguf["\(prefix).organization"]?.stringValue
                reference = organization.map { "\($0.replacingOccurrences(of: " ", with: "-"))/\(name.replacingOccurrences(of: " ", with: "-"))" } ?? name
            } else {
                reference = nil
            }
            guard let reference else {
                warnings.append("\(file): \(prefix) has neither repo_url nor name; ignored")
                continue
            }
            addParent(reference, evidence: "\(file): \(prefix)", relation: gguf["general.source.repo_url"] == nil ? .quantized : nil)
        }
    }

    /// Settles relations the files did not state, the way the Hub infers them: GGUF or
    /// `quantization_config` -> quantized, an adapter config -> adapter, several parents ->
    /// merge, else finetune.
    func batch() -> ImportBatch {
        var edges = self.edges
        var referenced = self.referenced
        let modelParents = edges.indices.filter { edges[$0].relation != .trainedOn }
        if modelParents.isEmpty, let weakParent {
            edges.append(LineageEdge(parent: weakParent.id, child: node.id, relation: isQuantized ? .quantized : .finetune,
                                     provenance: .inferred, confidence: 0.3, evidence: weakParent.evidence))
            referenced.append(LineageNode(id: weakParent.id, hubIDs: [weakParent.id]))
        }
        for index in modelParents {
            if let declaredRelation {
                edges[index].relation = declaredRelation
                edges[index].evidence += "; relation from \(relationEvidence ?? "the card")"
            } else if cardParents.contains(edges[index].parent.lowercased()) && !edges[index].evidence.contains("general.") {
                let inferred: Relation = isQuantized ? .quantized : isAdapter ? .adapter : modelParents.count > 1 ? .merge : .finetune
                edges[index].relation = inferred
                edges[index].confidence = 0.9
                edges[index].evidence += "; relation inferred (\(inferred.rawValue))"
            }
        }
        var node = self.node
        node.kind = NodeKind.inferred(fromIncoming: edges.map(\.relation))
        return ImportBatch(nodes: [node], edges: edges, referencedNodes: referenced, warnings: warnings)
    }
}
