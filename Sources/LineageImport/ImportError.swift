/// A problem with an input file, located as precisely as the format allows.
public struct ImportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file as the user named it (or the catalog file name).
    public var file: String
    /// 1-based line, when known.
    public var line: Int?
    /// The field, as a path: `models[3].parents[0].relation`.
    public var field: String?
    public var message: String

    public init(file: String, line: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `Graph/llama.yaml:12: models[3].relation: unknown relation 'x' (allowed: ...)`
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let field { return "\(location): \(field): \(message)" }
        return "\(location): \(message)"
    }
}
