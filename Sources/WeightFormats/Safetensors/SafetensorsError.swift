/// A safetensors read failure naming the file, the tensor involved, what was wrong and what to
/// do about it.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case io
        case headerTooSmall
        case headerTooLarge
        case headerPastEndOfFile
        case invalidHeaderUTF8
        case invalidJSON
        case invalidMetadata
        case invalidTensorEntry
        case unknownDType
        case sizeMismatch
        case subByteMisaligned
        case invalidOffsets
        case incompleteCoverage
        case overflow
        case tensorNotFound
        case unsupportedConversion
        case invalidIndex
        case shardMismatch
    }

    public let kind: Kind
    public let file: String
    public let tensor: String?
    public let message: String
    public let hint: String?

    public init(_ kind: Kind, file: String, tensor: String? = nil, message: String, hint: String? = nil) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "safetensors error in \(file)"
        if let tensor { text += " (tensor '\(tensor)')" }
        text += ": \(message)"
        if let hint { text += ". \(hint)" }
        return text
    }
}
