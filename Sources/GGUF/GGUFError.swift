/// A GGUF read or write failure, naming the file, the byte offset and the key or tensor
/// involved, what was wrong and what to do about it.
public struct GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case io
        case truncated
        case badMagic
        case unsupportedVersion
        case countTooLarge
        case stringTooLong
        case invalidUTF8
        case emptyKey
        case duplicateKey
        case unknownValueType
        case nestedArray
        case invalidAlignment
        case tensorNameTooLong
        case duplicateTensor
        case tooManyDimensions
        case invalidDimensions
        case unknownTensorType
        case rowNotBlockMultiple
        case misalignedOffset
        case unexpectedOffset
        case dataOutOfBounds
        case invalidValue
        case writerMisuse
    }

    public let kind: Kind
    /// Path of the file involved.
    public let file: String
    /// Absolute byte offset in the file where the problem was found, when there is one.
    public let offset: UInt64?
    /// The key or tensor involved, already formatted ("key 'general.name'", "tensor 'x'").
    public let subject: String?
    /// What was wrong.
    public let message: String
    /// What to do about it.
    public let hint: String?

    public init(
        _ kind: Kind, file: String, offset: UInt64? = nil, subject: String? = nil,
        message: String, hint: String? = nil
    ) {
        self.kind = kind
        self.file = file
        self.offset = offset
        self.subject = subject
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "GGUF error in \(file)"
        if let offset { text += " at byte \(offset)" }
        if let subject { text += " (\(subject))" }
        text += ": \(message)"
        if let hint { text += ". \(hint)" }
        return text
    }
}
