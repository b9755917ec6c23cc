import GGUF

/// A quantization call that cannot be carried out: unsupported type or mismatched sizes.
public struct QuantizationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "quantization error: \(message)" }
}
