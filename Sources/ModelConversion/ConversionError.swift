/// A conversion that cannot be carried out, naming the file and the tensor or field involved,
/// what was wrong and what to do about it.
public struct ConversionError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case missingFile
        case invalidJSON
        case missingField
        case invalidField
        case unsupportedArchitecture
        case missingTensor
        case unexpectedTensor
        case shapeMismatch
        case unsupportedDType
        case invalidTokenizer
        case unsupportedTokenizer
        case vocabularyMismatch
        case rowNotBlockMultiple
        case invalidOption
    }

    public let kind: Kind
    /// Path of the file involved, when there is one.
    public let file: String?
    /// The tensor or field involved, already formatted ("tensor 'lm_head.weight'", "field 'hidden_size'").
    public let subject: String?
    /// What was wrong.
    public let message: String
    /// What to do about it.
    public let hint: String?

    public init(_ kind: Kind, file: String? = nil, subject: String? = nil, message: String, hint: String? = nil) {
        self.kind = kind
        self.file = file
        self.subject = subject
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "conversion error"
        if let file { text += " in \(file)" }
        if let subject { text += " (\(subject))" }
        text += ": \(message)"
        if let hint { text += ". \(hint)" }
        return text
    }
}
