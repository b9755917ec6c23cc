import Foundation
import GGUF

/// A memory-mapped safetensors file with a validated header.
///
/// Tensor bytes are read straight from the mapping, so converting a row touches only that
/// row's pages. The file is immutable, so one instance can serve many threads.
public final class SafetensorsFile: Sendable {
    public let url: URL
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Tensors in data order.
    public let tensors: [SafetensorsTensorInfo]
    /// Absolute offset of the data section.
    public let dataOffset: Int

    private let mapped: MappedFile
    private let index: [String: Int]

    public init(contentsOf url: URL) throws {
        self.url = url
        do {
            mapped = try MappedFile(url: url)
        } catch {
            throw SafetensorsError(.io, file: url.path, message: error.description)
        }
        let header = try SafetensorsHeader.parse(mapped.bytes, file: url.path)
        metadata = header.metadata
        tensors = header.tensors
        dataOffset = header.dataOffset
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// Throws `tensorNotFound` naming the file when the tensor is missing.
    public func requireTensor(named name: String) throws -> SafetensorsTensorInfo {
        guard let t = tensor(named: name) else {
            throw SafetensorsError(.tensorNotFound, file: url.path, tensor: name,
                                   message: "no such tensor in this file")
        }
        return t
    }

    /// The raw bytes of a tensor. Valid only while this file object is alive.
    public func bytes(of tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.dataOffsets.lowerBound
        return mapped.bytes(in: start..<(start + tensor.byteCount))
    }

    /// Releases the mapped pages holding `rows` of `tensor` from the process's memory (see
    /// MappedFile.releasePages); reading them again pages them back in.
    public func releasePages(of tensor: SafetensorsTensorInfo, rows: Range<Int>) {
        let rowBytes = tensor.rowLength * tensor.dtype.bitSize / 8
        let start = dataOffset + tensor.dataOffsets.lowerBound
        mapped.releasePages(in: (start + rows.lowerBound * rowBytes)..<(start + rows.upperBound * rowBytes))
    }

    /// Converts row `row` of a F32/F16/BF16/F64 tensor to Float. `destination` must hold exactly
    /// `tensor.rowLength` values.
    public func readRow(_ row: Int, of tensor: SafetensorsTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try readElements(of: tensor, from: row * tensor.rowLength, into: destination, row: row)
    }

    /// Converts `destination.count` consecutive elements starting at `start` (row-major order)
    /// to Float, e.g. several rows at once.
    public func readElements(
        of tensor: SafetensorsTensorInfo, from start: Int, into destination: UnsafeMutableBufferPointer<Float>
    ) throws {
        try readElements(of: tensor, from: start, into: destination, row: nil)
    }

    private func readElements(
        of tensor: SafetensorsTensorInfo, from start: Int, into destination: UnsafeMutableBufferPointer<Float>, row: Int?
    ) throws {
        guard tensor.dtype.isConvertibleToFloat else {
            throw SafetensorsError(
                .unsupportedConversion, file: url.path, tensor: tensor.name,
                message: "cannot convert \(tensor.dtype.rawValue) to float rows; only F32, F16, BF16 and F64 are supported")
        }
        guard start >= 0, start + destination.count <= tensor.elementCount else {
            let what = row.map { "row \($0) of \(tensor.rowCount)" } ?? "elements \(start)..<\(start + destination.count) of \(tensor.elementCount)"
            throw SafetensorsError(.invalidOffsets, file: url.path, tensor: tensor.name,
                                   message: "\(what) is outside the tensor (shape \(tensor.shape))")
        }
        let size = tensor.dtype.bitSize / 8
        let all = bytes(of: tensor)
        let source = UnsafeRawBufferPointer(rebasing: all[(start * size)..<((start + destination.count) * size)])
        FloatConversion.convert(source, dtype: tensor.dtype, into: destination)
    }
}
