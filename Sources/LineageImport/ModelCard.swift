import Foundation
import LineageGraph
import Yams

/// The lineage-relevant part of a model card's YAML front matter (between the first two
/// `---` lines of README.md).
public struct ModelCard: Sendable {
    public var file: String
    /// Each `base_model` entry with its line.
    public var baseModels: [(String, Int)] = []
    public var baseModelRelation: Relation?
    public var license: String?
    public var datasets: [(String, Int)] = []
    public var modelName: String?
    /// language, pipeline_tag, tags, license_name as flat facts.
    public var facts: [String: String] = [:]

    /// Reads the front matter; a card without front matter has no lineage facts. The Hub's
    /// metadata keys are many and open-ended, so unknown keys are kept out, not refused.
    public static func parse(_ text: String, file: String) throws -> ModelCard {
        var card = ModelCard(file: file)
        guard let frontMatter = frontMatter(of: text) else { return card }
        guard let root = try YAMLFields.parse(frontMatter, file: file, lineOffset: 1) else { return card }
        guard case .mapping(let mapping) = root.node else {
            throw root.error("the front matter must be a mapping of keys to values")
        }
        var fields: [String: YAMLFields] = [:]
        for (key, value) in mapping {
            if let key = key.string { fields[key] = YAMLFields(node: value, file: file, path: key, lineOffset: 1) }
        }
        if let base = fields["base_model"] {
            for element in try base.elements() {
                guard let value = try element.string() else { continue }
                card.baseModels.append((value, element.line ?? base.line ?? 1))
            }
        }
        if let relationField = fields["base_model_relation"], let name = try relationField.string() {
            // The Hub's vocabulary for this key is adapter, merge, quantized, finetune; ours is
            // a superset, accepted too.
            guard let relation = Relation(name: name) else {
                throw relationField.error("unknown relation '\(name)' (allowed: \(Relation.allNames))")
            }
            card.baseModelRelation = relation
        }
        if let license = try fields["license"]?.string() {
            card.license = license
            if license == "other", let name = try fields["license_name"]?.string() {
                card.license = name
                card.facts["license_name"] = name
            }
        }
        if let datasets = fields["datasets"] {
            for element in try datasets.elements() {
                if let value = try element.string() { card.datasets.append((value, element.line ?? 1)) }
            }
        }
        if let name = try fields["model_name"]?.string() { card.modelName = name }
        for key in ["language", "tags"] {
            if let values = try fields[key]?.stringList(), !values.isEmpty { card.facts[key] = values.joined(separator: ", ") }
        }
        if let pipeline = try fields["pipeline_tag"]?.string() { card.facts["pipeline_tag"] = pipeline }
        return card
    }

    /// The text between a leading `---` line and the next `---` line, or nil.
    static func frontMatter(of text: String) -> String? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.first?.hasPrefix("\u{FEFF}") == true { lines[0] = lines[0].dropFirst() }
        guard let first = lines.first, first.trimmingCharacters(in: .whitespaces) == "---" else { return nil }
        guard let end = lines.dropFirst().firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "---" }) else {
            return nil
        }
        return lines[1..<end].joined(separator: "\n")
    }
}

/// JSON files with errors that say where.
enum JSONFile {
    static func object(_ data: Data, file: String) throws -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ImportError(file: file, line: lineOfJSONError(error, in: data), message: "malformed JSON: \(jsonProblem(error))")
        }
        guard let object = value as? [String: Any] else {
            throw ImportError(file: file, line: 1, message: "expected a JSON object at the top level")
        }
        return object
    }

    private static func jsonProblem(_ error: Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }

    /// Foundation reports the byte offset of a syntax error in the debug text ("around line 3,
    /// column 5" or "at character 42"); turn that into a line.
    private static func lineOfJSONError(_ error: Error, in data: Data) -> Int? {
        let text = jsonProblem(error)
        if let range = text.range(of: #"line (\d+)"#, options: .regularExpression) {
            return Int(text[range].dropFirst(5))
        }
        if let range = text.range(of: #"character (\d+)"#, options: .regularExpression),
           let offset = Int(text[range].dropFirst(10)) {
            return data.prefix(offset).reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        }
        return nil
    }
}
