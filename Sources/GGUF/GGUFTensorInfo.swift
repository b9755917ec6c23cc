/// One tensor's entry in a GGUF file's tensor info table.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// Tensor name, at most 63 bytes of UTF-8 (ggml's GGML_MAX_NAME is 64 with the terminator).
    public let name: String
    /// ggml's `ne`: element counts innermost first. A row-major `[rows, cols]` matrix is
    /// `[cols, rows]` here; the data bytes are the same.
    public let dimensions: [UInt64]
    public let type: GGMLType
    /// Offset of the tensor's data relative to the start of the data section.
    public let offset: UInt64

    public init(name: String, dimensions: [UInt64], type: GGMLType, offset: UInt64) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// Total number of elements (1 for a zero-dimensional tensor).
    public var elementCount: UInt64 { dimensions.reduce(1, *) }

    /// Elements per row (`ne[0]`), 1 for a zero-dimensional tensor.
    public var rowLength: UInt64 { dimensions.first ?? 1 }

    /// Number of rows (product of `ne[1...]`).
    public var rowCount: UInt64 { dimensions.dropFirst().reduce(1, *) }

    /// Bytes of the tensor's data, without alignment padding (ggml_nbytes for contiguous
    /// tensors). Assumes a validated info (row length divisible by the block size).
    public var byteCount: UInt64 {
        elementCount / UInt64(type.blockSize) * UInt64(type.typeSize)
    }
}
