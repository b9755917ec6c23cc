import Yams

/// A YAML node with where it came from, for reading typed fields and reporting errors that
/// name the file, line and field path. Unknown keys are errors: a misspelt key must not
/// silently drop a fact.
struct YAMLFields {
    let node: Node
    let file: String
    let path: String
    /// Added to Yams's line numbers: front matter starts after the opening `---` line.
    let lineOffset: Int

    init(node: Node, file: String, path: String = "", lineOffset: Int = 0) {
        self.node = node
        self.file = file
        self.path = path
        self.lineOffset = lineOffset
    }

    /// Parses a YAML text; syntax errors name the file and line.
    static func parse(_ text: String, file: String, lineOffset: Int = 0) throws -> YAMLFields? {
        do {
            guard let node = try Yams.compose(yaml: text) else { return nil }
            return YAMLFields(node: node, file: file, lineOffset: lineOffset)
        } catch let error as YamlError {
            throw ImportError(file: file, line: Self.line(of: error).map { $0 + lineOffset },
                              message: "malformed YAML: \(Self.problem(of: error))")
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let duplicates, _): "duplicate keys \(duplicates.joined(separator: ", "))"
        default: "\(error)"
        }
    }

    var line: Int? { node.mark.map { $0.line + lineOffset } }

    func error(_ message: String, field: String? = nil) -> ImportError {
        ImportError(file: file, line: line, field: field ?? (path.isEmpty ? nil : path), message: message)
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The mapping's entries, after checking every key is one of `allowed`.
    func mapping(allowed: Set<String>) throws -> [String: YAMLFields] {
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping of keys to values")
        }
        var fields: [String: YAMLFields] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw error("a key is not a string") }
            let child = YAMLFields(node: value, file: file, path: childPath(key), lineOffset: lineOffset)
            guard allowed.contains(key) else {
                throw ImportError(file: file, line: keyNode.mark.map { $0.line + lineOffset }, field: child.path,
                                  message: "unknown key '\(key)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
            fields[key] = child
        }
        return fields
    }

    /// Scalars and null only; an explicit `null` or `~` reads as nil.
    var isNull: Bool {
        if case .scalar(let scalar) = node { return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) }
        return false
    }

    func string() throws -> String? {
        if isNull { return nil }
        guard case .scalar(let scalar) = node else { throw error("expected a single value, not a list or mapping") }
        return scalar.string
    }

    func requiredString() throws -> String {
        guard let value = try string(), !value.isEmpty else { throw error("a value is required") }
        return value
    }

    func integer() throws -> Int? {
        guard let text = try string() else { return nil }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw error("expected a whole number, found '\(text)'")
        }
        return value
    }

    func double() throws -> Double? {
        guard let text = try string() else { return nil }
        guard let value = Double(text), value.isFinite else { throw error("expected a number, found '\(text)'") }
        return value
    }

    /// A list of elements (a single scalar counts as a one-element list, as the Hub allows
    /// for `base_model: org/name`).
    func elements() throws -> [YAMLFields] {
        if isNull { return [] }
        switch node {
        case .sequence(let sequence):
            return sequence.enumerated().map { position, element in
                YAMLFields(node: element, file: file, path: "\(path)[\(position)]", lineOffset: lineOffset)
            }
        case .scalar: return [self]
        default: throw error("expected a list")
        }
    }

    func stringList() throws -> [String] {
        try elements().compactMap { try $0.string() }
    }

    /// A mapping of string keys to string values (links).
    func stringMap() throws -> [String: String] {
        if isNull { return [:] }
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of names to values") }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let key = key.string else { throw error("a key is not a string") }
            let child = YAMLFields(node: value, file: file, path: childPath(key), lineOffset: lineOffset)
            result[key] = try child.string()
        }
        return result
    }
}
