#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte buffer exporters write into. Text is appended in whole runs of UTF-8 between the
/// bytes that need escaping, found with a 256-entry table rather than a per-byte call; with a
/// file descriptor the buffer is flushed every megabyte, so an export of any size streams in
/// constant memory. Together that is what lets a million-node export take about a second.
public struct OutputBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []
    private let descriptor: Int32?
    /// The first write(2) error, reported by `finish()`.
    private var writeError: Int32?

    static let flushThreshold = 1 << 20

    /// An in-memory buffer; read `bytes` when done.
    public init(capacity: Int = 1 << 16) {
        descriptor = nil
        bytes.reserveCapacity(capacity)
    }

    /// A buffer that streams to an open file descriptor; call `finish()` at the end.
    public init(flushingTo descriptor: Int32) {
        self.descriptor = descriptor
        bytes.reserveCapacity(Self.flushThreshold * 2)
    }

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
        if descriptor != nil && bytes.count >= Self.flushThreshold { flush() }
    }

    private mutating func flush() {
        guard let descriptor, !bytes.isEmpty else { return }
        if writeError == nil {
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        writeError = errno
                        return
                    }
                    offset += written
                }
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
        flushIfFull()
    }

    public mutating func write(_ byte: UInt8) { bytes.append(byte) }

    public mutating func write<I: BinaryInteger>(integer value: I) { write(String(value)) }

    /// Appends `text` with each byte whose `table` entry is non-zero replaced by `replacements[entry]`.
    private mutating func writeEscaped(_ text: String, table: EscapeTable) {
        var text = text
        text.withUTF8 { utf8 in
            table.classes.withUnsafeBufferPointer { classes in
                var runStart = 0
                var position = 0
                let count = utf8.count
                while position < count {
                    let entry = classes[Int(utf8[position])]
                    if entry != 0 {
                        if position > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position])) }
                        bytes.append(contentsOf: table.replacements[Int(entry)])
                        runStart = position + 1
                    }
                    position += 1
                }
                if runStart < count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
            }
        }
        flushIfFull()
    }

    /// A JSON string literal (quotes included).
    public mutating func writeJSONString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        writeEscaped(text, table: .json)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A DOT double-quoted string (quotes included). `"` and `\` are escaped so neither can
    /// end the string or start an escape sequence such as `\N`; control characters, which
    /// Graphviz rejects or misdraws, become spaces (newlines become the `\n` line break).
    public mutating func writeDOTString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        writeEscaped(text, table: .dot)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The inside of a DOT string, for labels assembled from several parts.
    public mutating func writeDOTText(_ text: String) { writeEscaped(text, table: .dot) }

    /// XML character data or attribute text. Characters XML 1.0 cannot carry at all (most
    /// C0 controls) are dropped: an XML parser would reject the whole document otherwise.
    public mutating func writeXMLEscaped(_ text: String) { writeEscaped(text, table: .xml) }

    /// Mermaid label text inside double quotes: quotes and the characters Mermaid treats
    /// specially become its `#name;` entity codes.
    public mutating func writeMermaidLabel(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        writeEscaped(text, table: .mermaid)
        bytes.append(UInt8(ascii: "\""))
    }
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
