/// Serialization of GGUF header pieces into a byte array (little-endian), mirroring gguf-py's
/// GGUFWriter._pack_val and ggml's gguf_write_to_buf.
struct GGUFEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(string: String) {
        let utf8 = Array(string.utf8)
        append(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A value without its type tag (array elements are written like this).
    mutating func appendPayload(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let v): append(string: v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float64(let v): append(v.bitPattern)
        case .array(let elementType, let elements):
            append(elementType.rawValue)
            append(UInt64(elements.count))
            for element in elements { appendPayload(element) }
        }
    }

    mutating func append(key: String, value: GGUFValue) {
        append(string: key)
        append(value.type.rawValue)
        appendPayload(value)
    }

    mutating func append(tensorInfo info: GGUFTensorInfo) {
        append(string: info.name)
        append(UInt32(info.dimensions.count))
        for ne in info.dimensions { append(ne) }
        append(info.type.rawValue)
        append(info.offset)
    }
}
