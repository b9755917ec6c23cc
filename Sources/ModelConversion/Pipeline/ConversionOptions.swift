import Foundation

/// What to write and how.
public struct ConversionOptions: Sendable {
    public var preset: QuantizationPreset
    /// Provenance written as `general.*`; its name defaults to the checkpoint directory's name.
    public var lineage: LineageMetadata?
    /// Worker threads for quantization (default: every core).
    public var threads: Int
    /// llama.cpp pre-tokenizer name for a BPE tokenizer lineage does not recognise.
    public var tokenizerPre: String?
    /// Upper bound on the bytes of quantized rows held in memory at once (two buffers of this
    /// size: one being filled while the other is written).
    public var batchBytes: Int
    /// Store tensors whose rows no quantized block divides as F16, as llama.cpp does, instead
    /// of refusing the conversion.
    public var allowF16Fallback: Bool

    public init(preset: QuantizationPreset, lineage: LineageMetadata? = nil,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                tokenizerPre: String? = nil, batchBytes: Int = 16 << 20, allowF16Fallback: Bool = false) {
        self.preset = preset
        self.allowF16Fallback = allowF16Fallback
        self.lineage = lineage
        self.threads = max(1, threads)
        self.tokenizerPre = tokenizerPre
        self.batchBytes = max(1 << 16, batchBytes)
    }
}

/// Where a conversion is, reported after every batch of rows.
public struct ConversionProgress: Sendable {
    public var tensorIndex: Int
    public var tensorCount: Int
    public var tensorName: String
    public var tensorType: String
    /// Input (checkpoint) bytes of the current tensor processed so far, and in all.
    public var tensorBytesDone: Int
    public var tensorBytes: Int
    /// Input bytes of the whole conversion processed so far, and in all.
    public var bytesDone: Int
    public var totalBytes: Int

    public var tensorFinished: Bool { tensorBytesDone == tensorBytes }
}

/// What a finished conversion wrote.
public struct ConversionSummary: Sendable {
    public var output: URL
    public var preset: QuantizationPreset
    public var tensorCount: Int
    public var inputBytes: Int
    public var outputBytes: UInt64
    /// How many tensors got each ggml type, e.g. ["F32": 65, "Q4_K": 193, "Q6_K": 33].
    public var typeCounts: [String: Int]
    public var seconds: Double
    public var warnings: [String]
}
