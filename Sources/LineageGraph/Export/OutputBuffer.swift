#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte buffer exporters write into. Text is appended in whole runs of UTF-8 between the
/// bytes that need escaping, found with a 256-entry table rather than a per-byte call; with a
/// file descriptor the buffer is flushed every megabyte, so an export of any size streams in
/// constant memory. The bytes live in memory of its own rather than in an `[UInt8]`: most
/// runs are a few bytes long, and an array's append checks (uniqueness, capacity, generic
/// dispatch) cost more than copying them. Noncopyable: it owns that memory.
public struct OutputBuffer: ~Copyable, @unchecked Sendable {
    private var storage: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    private let descriptor: Int32?
    /// The first write(2) error, reported by `finish()`.
    private var writeError: Int32?

    static let flushThreshold = 1 << 20

    /// An in-memory buffer; read `bytes` when done.
    public init(capacity: Int = 1 << 16) {
        descriptor = nil
        self.capacity = max(capacity, 64)
        storage = .allocate(capacity: self.capacity)
    }

    /// A buffer that streams to an open file descriptor; call `finish()` at the end.
    public init(flushingTo descriptor: Int32) {
        self.descriptor = descriptor
        capacity = Self.flushThreshold * 2
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// What was written (what is still buffered, when streaming).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage, count: count)) }

    public struct WriteError: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { "write failed: \(String(cString: strerror(code)))" }
    }

    /// Writes out what is buffered (when streaming) and reports any write error.
    public mutating func finish() throws {
        flush()
        if let writeError { throw WriteError(code: writeError) }
    }

    private mutating func flushIfFull() {
        if descriptor != nil && count >= Self.flushThreshold { flush() }
    }

    private mutating func flush() {
        guard descriptor != nil, count > 0 else { return }
        writeOut(storage, count)
        count = 0
    }

    /// write(2)s `length` bytes to the descriptor, remembering the first error.
    private mutating func writeOut(_ start: UnsafePointer<UInt8>, _ length: Int) {
        guard let descriptor, writeError == nil else { return }
        var offset = 0
        while offset < length {
            let written = systemWrite(descriptor, start + offset, length - offset)
            if written < 0 {
                if errno == EINTR { continue }
                writeError = errno
                return
            }
            offset += written
        }
    }

    @inline(__always)
    private mutating func append(_ source: UnsafePointer<UInt8>, _ length: Int) {
        if count + length > capacity { grow(to: count + length) }
        (storage + count).update(from: source, count: length)
        count += length
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        storage[count] = byte
        count += 1
    }

    private mutating func grow(to needed: Int) {
        let larger = max(needed, capacity * 2)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: storage, count: count)
        storage.deallocate()
        storage = moved
        capacity = larger
    }

    /// Calls `body` with the UTF-8 of `text` in place (a copy only for a bridged string).
    @inline(__always)
    private static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return copy.withUTF8(body)
    }

    public mutating func write(_ text: String) {
        Self.withUTF8(text) { utf8 in
            if let start = utf8.baseAddress { append(start, utf8.count) }
        }
        flushIfFull()
    }

    public mutating func write(_ byte: UInt8) { append(byte) }

    /// A literal, for the hot loops: its bytes are static, so there is no string to open.
    @inline(__always)
    public mutating func write(literal text: StaticString) {
        append(text.utf8Start, text.utf8CodeUnitCount)
        flushIfFull()
    }

    /// What another in-memory buffer holds (rendered on another thread), written as it is.
    public mutating func write(contentsOf other: borrowing OutputBuffer) {
        write(bytes: UnsafeBufferPointer(start: other.storage, count: other.count))
    }

    /// Bytes from memory the caller keeps alive for the call.
    @inline(__always)
    mutating func write(bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress else { return }
        if descriptor != nil && bytes.count >= Self.flushThreshold {
            // Straight to the file, not through the buffer.
            flush()
            writeOut(start, bytes.count)
        } else {
            append(start, bytes.count)
            flushIfFull()
        }
    }

    /// How many bytes an in-memory buffer holds (see `RenderedIDs`).
    var byteCount: Int { count }

    public mutating func write<I: BinaryInteger>(integer value: I) { write(String(value)) }

    /// Appends `text` with each byte whose `table` entry is non-zero replaced by `replacements[entry]`.
    private mutating func writeEscaped(_ text: String, table: EscapeTable) {
        Self.withUTF8(text) { utf8 in
            guard let base = utf8.baseAddress else { return }
            table.classes.withUnsafeBufferPointer { classes in
                var runStart = 0
                var position = 0
                let length = utf8.count
                while position < length {
                    let entry = classes[Int(base[position])]
                    if entry != 0 {
                        if position > runStart { append(base + runStart, position - runStart) }
                        table.replacements[Int(entry)].withUnsafeBufferPointer { append($0.baseAddress!, $0.count) }
                        runStart = position + 1
                    }
                    position += 1
                }
                if runStart < length { append(base + runStart, length - runStart) }
            }
        }
        flushIfFull()
    }

    /// A JSON string literal (quotes included).
    public mutating func writeJSONString(_ text: String) {
        append(UInt8(ascii: "\""))
        writeEscaped(text, table: .json)
        append(UInt8(ascii: "\""))
    }

    /// A DOT double-quoted string (quotes included). `"` and `\` are escaped so neither can
    /// end the string or start an escape sequence such as `\N`; control characters, which
    /// Graphviz rejects or misdraws, become spaces (newlines become the `\n` line break).
    public mutating func writeDOTString(_ text: String) {
        append(UInt8(ascii: "\""))
        writeEscaped(text, table: .dot)
        append(UInt8(ascii: "\""))
    }

    /// The inside of a DOT string, for labels assembled from several parts.
    public mutating func writeDOTText(_ text: String) { writeEscaped(text, table: .dot) }

    /// XML character data or attribute text. Characters XML 1.0 cannot carry at all (most
    /// C0 controls) are dropped: an XML parser would reject the whole document otherwise.
    public mutating func writeXMLEscaped(_ text: String) { writeEscaped(text, table: .xml) }

    /// Mermaid label text inside double quotes: quotes and the characters Mermaid treats
    /// specially become its `#name;` entity codes.
    public mutating func writeMermaidLabel(_ text: String) {
        append(UInt8(ascii: "\""))
        writeEscaped(text, table: .mermaid)
        append(UInt8(ascii: "\""))
    }
}

/// An in-memory buffer filled on one thread and handed to another (see `BackgroundWork`): the
/// buffer cannot be copied, and copying its bytes into an array to hand them over would cost
/// a pass over tens of megabytes. Only one thread holds it at a time.
final class RenderedBuffer: @unchecked Sendable {
    var buffer: OutputBuffer

    init(_ buffer: consuming OutputBuffer) { self.buffer = buffer }
}

/// write(2), named apart from OutputBuffer's own `write` methods.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Which bytes a format escapes and what replaces each.
struct EscapeTable: Sendable {
    /// Per byte value: 0 to copy it, else an index into `replacements`.
    let classes: [UInt8]
    let replacements: [[UInt8]]

    init(_ replacing: [UInt8: String]) {
        var classes = [UInt8](repeating: 0, count: 256)
        var replacements: [[UInt8]] = [[]]
        for (byte, replacement) in replacing.sorted(by: { $0.key < $1.key }) {
            classes[Int(byte)] = UInt8(replacements.count)
            replacements.append(Array(replacement.utf8))
        }
        self.classes = classes
        self.replacements = replacements
    }

    /// Every C0 control byte mapped by `transform`, plus `extra`.
    static func controls(_ transform: (UInt8) -> String, extra: [UInt8: String]) -> EscapeTable {
        var map = Dictionary(uniqueKeysWithValues: (0..<0x20).map { (UInt8($0), transform(UInt8($0))) })
        map.merge(extra) { _, new in new }
        return EscapeTable(map)
    }

    static let json = controls({ byte in
        switch byte {
        case 0x0A: "\\n"
        case 0x0D: "\\r"
        case 0x09: "\\t"
        default: "\\u00" + String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }
    }, extra: [0x22: "\\\"", 0x5C: "\\\\"])

    static let dot = controls({ $0 == 0x0A ? "\\n" : " " }, extra: [0x22: "\\\"", 0x5C: "\\\\", 0x7F: " "])

    static let xml = controls({ [0x09, 0x0A, 0x0D].contains($0) ? String(UnicodeScalar($0)) : "" },
                              extra: [0x26: "&amp;", 0x3C: "&lt;", 0x3E: "&gt;", 0x22: "&quot;", 0x27: "&apos;"])

    static let mermaid = controls({ [0x09, 0x0A, 0x0D].contains($0) ? " " : "" },
                                  extra: [0x22: "#quot;", 0x23: "#35;", 0x3C: "#lt;", 0x3E: "#gt;", 0x60: "#96;", 0x7F: ""])
}
