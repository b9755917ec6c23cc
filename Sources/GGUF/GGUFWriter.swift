import Foundation

/// What a tensor will be, declared before any data is written.
public struct GGUFTensorDescriptor: Sendable, Equatable {
    public let name: String
    /// ggml's `ne`, innermost first (`[cols, rows]` for a row-major matrix).
    public let dimensions: [UInt64]
    public let type: GGMLType

    public init(name: String, dimensions: [UInt64], type: GGMLType) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
    }
}

/// Where a GGUF's bytes go when they do not go to a file of their own: the mirror's staged,
/// hashed store writes (quantize on ingest). Bytes arrive strictly in file order, once, so a
/// sink may digest them as they pass.
public protocol GGUFByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Streams a GGUF file: header, key/values and tensor infos first (every tensor's size is known
/// up front), then tensor data in info order, each tensor padded with zeros to the alignment.
///
/// Offsets are the running padded sum, which current llama.cpp requires. The writer holds no
/// tensor data: callers hand it one tensor (or one chunk of a tensor) at a time. The file is
/// written under a temporary name next to `url` and renamed into place by `finish()`, so an
/// interrupted write never leaves a plausible-looking truncated GGUF behind.
public final class GGUFWriter {
    public let url: URL
    public let alignment: UInt64
    /// The tensor infos as written, with their offsets.
    public let tensors: [GGUFTensorInfo]
    /// Absolute offset of the data section.
    public let dataOffset: UInt64

    private let partialURL: URL
    private var sink: (any GGUFByteSink)?
    /// nil when the bytes go to a caller's sink: nothing to sync or rename here then.
    private var fileSink: FileSink?
    private var tensorIndex = 0
    private var writtenInTensor: UInt64 = 0
    private var finished = false

    /// Validates everything and writes the header, key/values, tensor infos and the padding up
    /// to the data section. `general.alignment`, when present, must be a u32 power of two.
    public convenience init(
        url: URL, keyValues: [(key: String, value: GGUFValue)], tensors descriptors: [GGUFTensorDescriptor],
        version: UInt32 = 3
    ) throws {
        try self.init(url: url, sink: nil, keyValues: keyValues, tensors: descriptors, version: version)
    }

    /// Writes into `sink` instead of a file; `name` only labels errors. `finish()` checks that
    /// every tensor was written; making the bytes durable and visible is the sink owner's job.
    public convenience init(
        sink: any GGUFByteSink, name: String, keyValues: [(key: String, value: GGUFValue)],
        tensors descriptors: [GGUFTensorDescriptor], version: UInt32 = 3
    ) throws {
        try self.init(url: URL(fileURLWithPath: name), sink: sink, keyValues: keyValues, tensors: descriptors, version: version)
    }

    private init(
        url: URL, sink external: (any GGUFByteSink)?, keyValues: [(key: String, value: GGUFValue)],
        tensors descriptors: [GGUFTensorDescriptor], version: UInt32
    ) throws {
        self.url = url
        let file = url.path
        guard version == 2 || version == 3 else {
            throw GGUFError(.writerMisuse, file: file, message: "cannot write GGUF version \(version); use 2 or 3")
        }

        // Keys and values.
        var seen: Set<String> = []
        var alignment = GGUFReader.defaultAlignment
        for (key, value) in keyValues {
            let subject = "key '\(key)'"
            guard !key.isEmpty else {
                throw GGUFError(.emptyKey, file: file, subject: subject, message: "keys must not be empty")
            }
            guard seen.insert(key).inserted else {
                throw GGUFError(
                    .duplicateKey, file: file, subject: subject, message: "duplicate key '\(key)'",
                    hint: "pass each key once")
            }
            try Self.validate(value, file: file, subject: subject)
            if key == "general.alignment" {
                guard case .uint32(let a) = value, a != 0, a & (a - 1) == 0 else {
                    throw GGUFError(
                        .invalidAlignment, file: file, subject: subject,
                        message: "general.alignment must be a u32 power of two, got \(value)")
                }
                alignment = UInt64(a)
            }
        }
        self.alignment = alignment

        // Tensor infos with running padded offsets.
        var infos: [GGUFTensorInfo] = []
        var names: Set<String> = []
        var offset: UInt64 = 0
        for d in descriptors {
            let subject = "tensor '\(d.name)'"
            guard !d.name.isEmpty, d.name.utf8.count <= GGUFReader.maxTensorNameBytes else {
                throw GGUFError(
                    .tensorNameTooLong, file: file, subject: subject,
                    message: "tensor names must be 1...\(GGUFReader.maxTensorNameBytes) bytes, this one is \(d.name.utf8.count)")
            }
            guard names.insert(d.name).inserted else {
                throw GGUFError(.duplicateTensor, file: file, subject: subject, message: "duplicate tensor name")
            }
            guard d.dimensions.count <= GGUFReader.maxDimensions else {
                throw GGUFError(
                    .tooManyDimensions, file: file, subject: subject,
                    message: "\(d.dimensions.count) dimensions; ggml allows at most \(GGUFReader.maxDimensions)")
            }
            var elements: UInt64 = 1
            for ne in d.dimensions {
                let (p, overflow) = elements.multipliedReportingOverflow(by: ne)
                guard !overflow, p <= UInt64(Int64.max) else {
                    throw GGUFError(.invalidDimensions, file: file, subject: subject,
                                    message: "dimensions \(d.dimensions) overflow int64")
                }
                elements = p
            }
            let rowLength = d.dimensions.first ?? 1
            guard rowLength % UInt64(d.type.blockSize) == 0 else {
                throw GGUFError(
                    .rowNotBlockMultiple, file: file, subject: subject,
                    message: "row length \(rowLength) is not a multiple of \(d.type)'s block size \(d.type.blockSize)",
                    hint: "choose a type whose block size divides the row length")
            }
            let info = GGUFTensorInfo(name: d.name, dimensions: d.dimensions, type: d.type, offset: offset)
            infos.append(info)
            offset += GGUFReader.padded(info.byteCount, to: alignment)
        }
        self.tensors = infos

        // Header.
        var encoder = GGUFEncoder()
        encoder.append(UInt32(0x4655_4747))  // "GGUF" read as a little-endian u32
        encoder.append(version)
        encoder.append(UInt64(infos.count))
        encoder.append(UInt64(keyValues.count))
        for (key, value) in keyValues { encoder.append(key: key, value: value) }
        for info in infos { encoder.append(tensorInfo: info) }
        let headerSize = UInt64(encoder.bytes.count)
        dataOffset = GGUFReader.padded(headerSize, to: alignment)

        partialURL = Self.partialURL(for: url)
        let sink: any GGUFByteSink
        if let external {
            sink = external
        } else {
            let file = try FileSink(path: partialURL.path)
            fileSink = file
            sink = file
        }
        self.sink = sink
        try encoder.bytes.withUnsafeBytes { try sink.write($0) }
        try Self.writeZeros(Int(dataOffset - headerSize), to: sink)
    }

    /// Where the file is written until `finish()` renames it: a hidden name next to `url`,
    /// unique to this process. Exposed so that a program interrupted by a signal (when no
    /// deinit runs) can remove it.
    public static func partialURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial")
    }

    deinit {
        if !finished, fileSink != nil {
            sink = nil
            fileSink = nil
            try? FileManager.default.removeItem(at: partialURL)
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 4096)

    private static func writeZeros(_ count: Int, to sink: any GGUFByteSink) throws {
        var left = count
        while left > 0 {
            let n = min(left, zeros.count)
            try zeros.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
    }

    /// The tensor whose bytes are expected next, or nil when all have been written.
    public var nextTensor: GGUFTensorInfo? {
        tensorIndex < tensors.count ? tensors[tensorIndex] : nil
    }

    /// Appends bytes of the current tensor. A tensor may arrive in several chunks; a chunk must
    /// not run past the end of the current tensor. When a tensor is complete its alignment
    /// padding is written and the writer moves to the next one.
    public func writeTensorData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let sink, !finished else {
            throw GGUFError(.writerMisuse, file: url.path, message: "writer is already finished")
        }
        guard let info = nextTensor else {
            throw GGUFError(
                .writerMisuse, file: url.path,
                message: "got \(bytes.count) more bytes but all \(tensors.count) tensors are complete")
        }
        let size = info.byteCount
        let left = size - writtenInTensor
        guard UInt64(bytes.count) <= left else {
            throw GGUFError(
                .writerMisuse, file: url.path, subject: "tensor '\(info.name)'",
                message: "chunk of \(bytes.count) bytes overruns the tensor: \(left) of \(size) bytes remain",
                hint: "write exactly \(size) bytes for this \(info.type) tensor of shape \(info.dimensions)")
        }
        try sink.write(bytes)
        writtenInTensor += UInt64(bytes.count)
        if writtenInTensor == size {
            try Self.writeZeros(Int(GGUFReader.padded(size, to: alignment) - size), to: sink)
            tensorIndex += 1
            writtenInTensor = 0
        }
    }

    /// Convenience for byte containers such as `[UInt8]` and `Data`.
    public func writeTensorData<Bytes: ContiguousBytes>(_ data: Bytes) throws {
        try data.withUnsafeBytes { try writeTensorData($0) }
    }

    /// Checks that every tensor was written; for a file, syncs it and moves it into place.
    public func finish() throws {
        guard sink != nil, !finished else {
            throw GGUFError(.writerMisuse, file: url.path, message: "writer is already finished")
        }
        if let info = nextTensor {
            throw GGUFError(
                .writerMisuse, file: url.path, subject: "tensor '\(info.name)'",
                message: "finish() called with tensor \(tensorIndex + 1) of \(tensors.count) incomplete (\(writtenInTensor) of \(info.byteCount) bytes)",
                hint: "write every tensor's data before finishing")
        }
        self.sink = nil
        guard let fileSink else {
            finished = true
            return
        }
        try fileSink.close()
        self.fileSink = nil
        if rename(partialURL.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: partialURL)
            throw GGUFError(.io, file: url.path, message: "cannot move the finished file into place: \(reason)")
        }
        finished = true
    }

    private static func validate(_ value: GGUFValue, file: String, subject: String) throws {
        guard case .array(let elementType, let elements) = value else { return }
        guard elementType != .array else {
            throw GGUFError(.nestedArray, file: file, subject: subject,
                            message: "arrays of arrays cannot be written (llama.cpp rejects them)")
        }
        for (i, element) in elements.enumerated() where element.type != elementType {
            throw GGUFError(
                .invalidValue, file: file, subject: subject,
                message: "element \(i) is \(element.type) but the array is declared [\(elementType)]")
        }
    }
}
