/// A bounds-checked little-endian reader over a mapped file, used by the GGUF parser.
///
/// Every read checks the remaining length first, so a truncated or hostile file produces a
/// GGUFError naming the offset instead of a crash or a giant allocation.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var position: Int = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - position }

    mutating func seek(to offset: Int) {
        position = offset
    }

    // `what` and `subject` are autoclosures: they are only formatted when an error is thrown,
    // which matters when reading 100k-entry token arrays.
    private func truncated(_ what: String, needed: Int, subject: String?) -> GGUFError {
        GGUFError(
            .truncated, file: file, offset: UInt64(position), subject: subject,
            message: "file ends while reading \(what): needs \(needed) bytes, \(remaining) left of \(bytes.count)",
            hint: "the file is truncated or corrupt; download it again")
    }

    mutating func read<T: FixedWidthInteger>(
        _: T.Type, _ what: @autoclosure () -> String, subject: @autoclosure () -> String?
    ) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw truncated(what(), needed: size, subject: subject()) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    mutating func readBytes(
        count: Int, _ what: @autoclosure () -> String, subject: @autoclosure () -> String?
    ) throws -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw truncated(what(), needed: count, subject: subject()) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    /// A GGUF string: u64 length then UTF-8 bytes. The length is bounded by the bytes left in
    /// the file before anything is allocated.
    mutating func readString(
        _ what: @autoclosure () -> String, subject: @autoclosure () -> String?
    ) throws -> String {
        let start = position
        let length = try read(UInt64.self, "\(what()) length", subject: subject())
        guard length <= UInt64(remaining) else {
            throw GGUFError(
                .stringTooLong, file: file, offset: UInt64(start), subject: subject(),
                message: "\(what()) declares \(length) bytes but only \(remaining) bytes remain in the file",
                hint: "the file is corrupt or not GGUF; download it again")
        }
        let raw = try readBytes(count: Int(length), what(), subject: subject())
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw GGUFError(
                .invalidUTF8, file: file, offset: UInt64(start + 8), subject: subject(),
                message: "\(what()) is not valid UTF-8",
                hint: "GGUF strings must be UTF-8; the file is corrupt or was written by a broken tool")
        }
        return s
    }
}
