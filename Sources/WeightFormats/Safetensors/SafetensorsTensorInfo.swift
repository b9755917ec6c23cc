/// One tensor of a safetensors file: its type, shape and where its bytes are.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major shape, outermost first (PyTorch order), e.g. `[rows, cols]`.
    public let shape: [Int]
    /// Byte range relative to the start of the data section (the header's `data_offsets`).
    public let dataOffsets: Range<Int>

    public init(name: String, dtype: SafetensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Number of elements (1 for a scalar with shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Elements per row: the innermost dimension (1 for a scalar).
    public var rowLength: Int { shape.last ?? 1 }

    /// Number of rows: the product of all but the innermost dimension.
    public var rowCount: Int { shape.dropLast().reduce(1, *) }

    public var byteCount: Int { dataOffsets.count }

    /// ggml's `ne` order (innermost first), as a GGUF tensor info wants it.
    public var ggmlDimensions: [UInt64] { shape.reversed().map { UInt64($0) } }
}
