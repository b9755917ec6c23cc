import Foundation

/// Everything in a GGUF file except the tensor data: header, key/values in file order and
/// tensor infos.
public struct GGUFMetadata: Sendable {
    /// The file this was read from (nil when built in memory).
    public let url: URL?
    /// GGUF version (2 or 3).
    public let version: UInt32
    /// Key/value pairs in file order; keys are unique.
    public let keyValues: [(key: String, value: GGUFValue)]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Absolute file offset of the data section (tensor offsets are relative to it).
    public let dataOffset: UInt64
    /// Alignment of the data section and of each tensor (`general.alignment`, default 32).
    public let alignment: UInt64
    /// Size of the file in bytes.
    public let fileSize: UInt64

    private let keyIndex: [String: Int]
    private let tensorIndex: [String: Int]

    init(
        url: URL?, version: UInt32, keyValues: [(key: String, value: GGUFValue)],
        tensors: [GGUFTensorInfo], dataOffset: UInt64, alignment: UInt64, fileSize: UInt64
    ) {
        self.url = url
        self.version = version
        self.keyValues = keyValues
        self.tensors = tensors
        self.dataOffset = dataOffset
        self.alignment = alignment
        self.fileSize = fileSize
        var keys: [String: Int] = [:]
        for (i, kv) in keyValues.enumerated() { keys[kv.key] = i }
        keyIndex = keys
        var names: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { names[t.name] = i }
        tensorIndex = names
    }

    /// The value stored under `key`, or nil.
    public subscript(key: String) -> GGUFValue? {
        guard let i = keyIndex[key] else { return nil }
        return keyValues[i].value
    }

    /// The tensor info named `name`, or nil.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        guard let i = tensorIndex[name] else { return nil }
        return tensors[i]
    }

    /// Absolute byte range of a tensor's data in the file.
    public func absoluteRange(of tensor: GGUFTensorInfo) -> Range<UInt64> {
        let start = dataOffset + tensor.offset
        return start..<(start + tensor.byteCount)
    }
}
