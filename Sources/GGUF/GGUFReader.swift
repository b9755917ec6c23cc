import Foundation

/// Parses GGUF headers: key/values and tensor infos, never tensor data.
///
/// Validation follows llama.cpp's gguf_init_from_file (ggml/src/gguf.cpp) so that a file this
/// reader accepts is one llama.cpp can load: magic, version 2 or 3, bounded counts and string
/// lengths, known value and tensor types, no nested arrays, unique non-empty keys, unique tensor
/// names shorter than 64 bytes, at most 4 dimensions, row lengths that are whole blocks,
/// `general.alignment` a u32 power of two, and tensor offsets aligned, equal to the running
/// padded sum of the tensors before them, and inside the file.
public enum GGUFReader {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment: UInt64 = 32
    /// ggml's GGML_MAX_NAME: names must be shorter (room for the C terminator).
    public static let maxTensorNameBytes = 63
    public static let maxDimensions = 4

    public static func readMetadata(contentsOf url: URL) throws -> GGUFMetadata {
        let mapped: MappedFile
        do {
            mapped = try MappedFile(url: url)
        } catch {
            throw GGUFError(.io, file: url.path, message: error.description)
        }
        return try withExtendedLifetime(mapped) {
            try parse(bytes: mapped.bytes, url: url)
        }
    }

    static func parse(bytes: UnsafeRawBufferPointer, url: URL?) throws -> GGUFMetadata {
        let file = url?.path ?? "<memory>"
        var cursor = ByteCursor(bytes: bytes, file: file)

        // Magic.
        guard bytes.count >= 4 else {
            throw GGUFError(
                .truncated, file: file, offset: 0,
                message: "file is \(bytes.count) bytes, too short to hold the GGUF magic",
                hint: "the file is empty or truncated; download it again")
        }
        let head = Array(bytes[0..<4])
        guard head == magic else {
            let shown = head.map { (0x20..<0x7f).contains($0) ? String(UnicodeScalar($0)) : "?" }.joined()
            throw GGUFError(
                .badMagic, file: file, offset: 0,
                message: "bad magic '\(shown)' (bytes \(head.map { String(format: "%02x", $0) }.joined(separator: " "))), expected 'GGUF'",
                hint: "this is not a GGUF file")
        }
        cursor.seek(to: 4)

        // Version.
        let version = try cursor.read(UInt32.self, "version", subject: nil)
        guard version == 2 || version == 3 else {
            let why: String
            if version == 1 {
                why = "GGUF v1 is no longer supported by llama.cpp"
            } else if version != 0, version & 0xFFFF == 0 {
                why = "version \(version) looks byte-swapped: the file is probably big-endian"
            } else {
                why = "unsupported GGUF version \(version); only versions 2 and 3 are read"
            }
            throw GGUFError(
                .unsupportedVersion, file: file, offset: 4, message: why,
                hint: "convert the model again with a current llama.cpp / gguf-py")
        }

        // Counts, bounded by what the remaining bytes could possibly hold.
        let tensorCountOffset = UInt64(cursor.position)
        let tensorCount = try cursor.read(UInt64.self, "tensor count", subject: nil)
        let kvCountOffset = UInt64(cursor.position)
        let kvCount = try cursor.read(UInt64.self, "key/value count", subject: nil)
        // Smallest possible encodings: a kv is a 1-byte key (8+1), a type (4) and a 1-byte
        // value; a tensor info is a 1-byte name (8+1), n_dims (4), type (4) and offset (8).
        let minKV: UInt64 = 14
        let minTensor: UInt64 = 25
        let left = UInt64(cursor.remaining)
        guard kvCount <= left / minKV else {
            throw GGUFError(
                .countTooLarge, file: file, offset: kvCountOffset,
                message: "key/value count \(kvCount) cannot fit in the \(left) bytes that follow",
                hint: "the header is corrupt; download the file again")
        }
        guard tensorCount <= left / minTensor else {
            throw GGUFError(
                .countTooLarge, file: file, offset: tensorCountOffset,
                message: "tensor count \(tensorCount) cannot fit in the \(left) bytes that follow",
                hint: "the header is corrupt; download the file again")
        }

        // Key/values.
        var keyValues: [(key: String, value: GGUFValue)] = []
        keyValues.reserveCapacity(Int(kvCount))
        var seenKeys: [String: UInt64] = [:]
        for index in 0..<Int(kvCount) {
            let keyOffset = UInt64(cursor.position)
            let key = try cursor.readString("key of key/value #\(index)", subject: "key/value #\(index)")
            let subject = "key '\(key)'"
            guard !key.isEmpty else {
                throw GGUFError(
                    .emptyKey, file: file, offset: keyOffset, subject: "key/value #\(index)",
                    message: "key is empty", hint: "the file is corrupt")
            }
            if let first = seenKeys[key] {
                throw GGUFError(
                    .duplicateKey, file: file, offset: keyOffset, subject: subject,
                    message: "duplicate key '\(key)' (first at byte \(first))",
                    hint: "GGUF keys must be unique; the writer that made this file is broken")
            }
            seenKeys[key] = keyOffset
            let value = try readValue(&cursor, subject: subject)
            keyValues.append((key: key, value: value))
        }

        // Alignment.
        var alignment = defaultAlignment
        if let index = keyValues.firstIndex(where: { $0.key == "general.alignment" }) {
            let value = keyValues[index].value
            guard case .uint32(let a) = value else {
                throw GGUFError(
                    .invalidAlignment, file: file, offset: seenKeys["general.alignment"],
                    subject: "key 'general.alignment'",
                    message: "general.alignment must be u32 but is \(value.type)",
                    hint: "llama.cpp rejects this file; rewrite it with a u32 alignment")
            }
            guard a != 0, a & (a - 1) == 0 else {
                throw GGUFError(
                    .invalidAlignment, file: file, offset: seenKeys["general.alignment"],
                    subject: "key 'general.alignment'",
                    message: "general.alignment \(a) is not a power of two",
                    hint: "llama.cpp rejects this file; rewrite it with a power-of-two alignment")
            }
            alignment = UInt64(a)
        }

        // Tensor infos.
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(Int(tensorCount))
        var infoOffsets: [UInt64] = []
        var seenNames: Set<String> = []
        for index in 0..<Int(tensorCount) {
            let infoOffset = UInt64(cursor.position)
            let name = try cursor.readString("name of tensor #\(index)", subject: "tensor #\(index)")
            let subject = "tensor '\(name)'"
            guard name.utf8.count <= maxTensorNameBytes else {
                throw GGUFError(
                    .tensorNameTooLong, file: file, offset: infoOffset, subject: subject,
                    message: "tensor name is \(name.utf8.count) bytes; ggml allows at most \(maxTensorNameBytes)",
                    hint: "llama.cpp cannot load this file")
            }
            guard seenNames.insert(name).inserted else {
                throw GGUFError(
                    .duplicateTensor, file: file, offset: infoOffset, subject: subject,
                    message: "duplicate tensor name '\(name)'", hint: "the file is corrupt")
            }
            let dimsOffset = UInt64(cursor.position)
            let nDims = try cursor.read(UInt32.self, "n_dims", subject: subject)
            guard nDims <= UInt32(maxDimensions) else {
                throw GGUFError(
                    .tooManyDimensions, file: file, offset: dimsOffset, subject: subject,
                    message: "tensor has \(nDims) dimensions; ggml allows at most \(maxDimensions)",
                    hint: "the file is corrupt or not made for ggml")
            }
            var dims: [UInt64] = []
            var elements: UInt64 = 1
            for d in 0..<Int(nDims) {
                let ne = try cursor.read(UInt64.self, "dimension \(d)", subject: subject)
                let (product, overflow) = elements.multipliedReportingOverflow(by: ne)
                guard ne <= UInt64(Int64.max), !overflow, product <= UInt64(Int64.max) else {
                    throw GGUFError(
                        .invalidDimensions, file: file, offset: dimsOffset, subject: subject,
                        message: "dimension \(d) = \(ne) makes the element count overflow int64",
                        hint: "the file is corrupt")
                }
                elements = product
                dims.append(ne)
            }
            let typeOffset = UInt64(cursor.position)
            let rawType = try cursor.read(UInt32.self, "ggml type", subject: subject)
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(
                    .unknownTensorType, file: file, offset: typeOffset, subject: subject,
                    message: "unknown ggml type id \(rawType)",
                    hint: "the file uses a type this build does not know (or a retired one); update lineage or re-quantize")
            }
            let rowLength = dims.first ?? 1
            guard rowLength % UInt64(type.blockSize) == 0 else {
                throw GGUFError(
                    .rowNotBlockMultiple, file: file, offset: dimsOffset, subject: subject,
                    message: "row length \(rowLength) is not a multiple of \(type)'s block size \(type.blockSize)",
                    hint: "the file is corrupt")
            }
            let offset = try cursor.read(UInt64.self, "data offset", subject: subject)
            infoOffsets.append(infoOffset)
            tensors.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: offset))
        }

        // Data section: the end of the infos padded to the alignment.
        let fileSize = UInt64(bytes.count)
        let dataOffset = padded(UInt64(cursor.position), to: alignment)
        if !tensors.isEmpty, dataOffset > fileSize {
            throw GGUFError(
                .truncated, file: file, offset: UInt64(cursor.position),
                message: "data section would start at byte \(dataOffset) but the file has \(fileSize) bytes",
                hint: "the file is truncated; download it again")
        }
        var expected: UInt64 = 0
        for (info, infoOffset) in zip(tensors, infoOffsets) {
            let subject = "tensor '\(info.name)'"
            guard info.offset % alignment == 0 else {
                throw GGUFError(
                    .misalignedOffset, file: file, offset: infoOffset, subject: subject,
                    message: "data offset \(info.offset) is not a multiple of the alignment \(alignment)",
                    hint: "llama.cpp rejects this file; rewrite it with a conforming writer")
            }
            guard info.offset == expected else {
                throw GGUFError(
                    .unexpectedOffset, file: file, offset: infoOffset, subject: subject,
                    message: "data offset \(info.offset) is not \(expected), the padded sum of the tensors before it",
                    hint: "llama.cpp requires tensors laid out in info order, each padded to the alignment; rewrite the file")
            }
            let size = info.byteCount
            let end = dataOffset + info.offset + size
            guard end <= fileSize else {
                throw GGUFError(
                    .dataOutOfBounds, file: file, offset: infoOffset, subject: subject,
                    message: "data bytes \(dataOffset + info.offset)..<\(end) extend past the end of the file (\(fileSize) bytes)",
                    hint: "the file is truncated; download it again")
            }
            expected += padded(size, to: alignment)
        }

        return GGUFMetadata(
            url: url, version: version, keyValues: keyValues, tensors: tensors,
            dataOffset: dataOffset, alignment: alignment, fileSize: fileSize)
    }

    public static func padded(_ value: UInt64, to alignment: UInt64) -> UInt64 {
        (value + alignment - 1) / alignment * alignment
    }

    private static func readValueType(_ cursor: inout ByteCursor, _ what: String, subject: String) throws -> GGUFValueType {
        let offset = UInt64(cursor.position)
        let raw = try cursor.read(UInt32.self, what, subject: subject)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw GGUFError(
                .unknownValueType, file: cursor.file, offset: offset, subject: subject,
                message: "unknown \(what) \(raw); known types are 0...12",
                hint: "the file is corrupt or from a newer GGUF revision")
        }
        return type
    }

    private static func readValue(_ cursor: inout ByteCursor, subject: String) throws -> GGUFValue {
        let type = try readValueType(&cursor, "value type", subject: subject)
        guard type == .array else {
            return try readScalar(&cursor, type: type, subject: subject)
        }
        let elementTypeOffset = UInt64(cursor.position)
        let elementType = try readValueType(&cursor, "array element type", subject: subject)
        guard elementType != .array else {
            throw GGUFError(
                .nestedArray, file: cursor.file, offset: elementTypeOffset, subject: subject,
                message: "arrays of arrays are not supported",
                hint: "llama.cpp rejects nested arrays; rewrite the file without them")
        }
        let countOffset = UInt64(cursor.position)
        let count = try cursor.read(UInt64.self, "array length", subject: subject)
        guard count <= UInt64(cursor.remaining / elementType.minimumEncodedSize) else {
            throw GGUFError(
                .countTooLarge, file: cursor.file, offset: countOffset, subject: subject,
                message: "array of \(count) \(elementType) values cannot fit in the \(cursor.remaining) bytes that remain",
                hint: "the file is truncated or corrupt; download it again")
        }
        var elements: [GGUFValue] = []
        elements.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            elements.append(try readScalar(&cursor, type: elementType, subject: "\(subject), element \(i)"))
        }
        return .array(elementType: elementType, elements: elements)
    }

    private static func readScalar(
        _ cursor: inout ByteCursor, type: GGUFValueType, subject: @autoclosure () -> String
    ) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, "u8 value", subject: subject()))
        case .int8: return .int8(try cursor.read(Int8.self, "i8 value", subject: subject()))
        case .uint16: return .uint16(try cursor.read(UInt16.self, "u16 value", subject: subject()))
        case .int16: return .int16(try cursor.read(Int16.self, "i16 value", subject: subject()))
        case .uint32: return .uint32(try cursor.read(UInt32.self, "u32 value", subject: subject()))
        case .int32: return .int32(try cursor.read(Int32.self, "i32 value", subject: subject()))
        case .float32:
            return .float32(Float(bitPattern: try cursor.read(UInt32.self, "f32 value", subject: subject())))
        case .bool:
            // llama.cpp reads a byte and treats any non-zero value as true.
            return .bool(try cursor.read(UInt8.self, "bool value", subject: subject()) != 0)
        case .string: return .string(try cursor.readString("string value", subject: subject()))
        case .uint64: return .uint64(try cursor.read(UInt64.self, "u64 value", subject: subject()))
        case .int64: return .int64(try cursor.read(Int64.self, "i64 value", subject: subject()))
        case .float64:
            return .float64(Double(bitPattern: try cursor.read(UInt64.self, "f64 value", subject: subject())))
        case .array:
            preconditionFailure("arrays are handled by readValue")
        }
    }
}
