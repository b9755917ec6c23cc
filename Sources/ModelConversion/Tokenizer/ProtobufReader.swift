/// Just enough of the protocol buffers wire format to read a SentencePiece `tokenizer.model`:
/// varints, fixed 32/64-bit values and length-delimited fields, with unknown fields skipped.
///
/// Errors carry the byte offset so that a truncated or foreign file is reported where it
/// stops making sense.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    struct Failure: Error {
        let offset: Int
        let message: String
    }

    let bytes: UnsafeRawBufferPointer
    /// Offset of `bytes[0]` in the file, for error messages.
    let baseOffset: Int
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) {
        self.bytes = bytes
        self.baseOffset = baseOffset
    }

    var isAtEnd: Bool { position >= bytes.count }

    func failure(_ message: String) -> Failure { Failure(offset: baseOffset + position, message: message) }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw failure("varint runs past the end of the data") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw failure("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw failure("varint is longer than 10 bytes") }
        }
    }

    /// The next field's number and wire type, or nil at the end.
    mutating func readTag() throws -> (field: Int, wire: WireType)? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw failure("unknown wire type \(key & 7)")
        }
        let field = key >> 3
        guard field > 0, field <= UInt64(Int32.max) else { throw failure("invalid field number \(field)") }
        return (Int(field), wire)
    }

    mutating func readFixed32() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("fixed32 runs past the end of the data") }
        let value = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return value
    }

    mutating func readFixed64() throws -> UInt64 {
        guard position + 8 <= bytes.count else { throw failure("fixed64 runs past the end of the data") }
        let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return value
    }

    /// A length-delimited field's bytes, as a reader of its own (for embedded messages).
    mutating func readLengthDelimited() throws -> ProtobufReader {
        let length = try readVarint()
        guard length <= UInt64(bytes.count - position) else {
            throw failure("field of \(length) bytes runs past the end of the data (\(bytes.count - position) left)")
        }
        let start = position
        position += Int(length)
        return ProtobufReader(UnsafeRawBufferPointer(rebasing: bytes[start..<position]), baseOffset: baseOffset + start)
    }

    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup, .endGroup:
            // proto2 groups do not occur in sentencepiece_model.proto.
            throw failure("unexpected group field")
        }
    }
}
