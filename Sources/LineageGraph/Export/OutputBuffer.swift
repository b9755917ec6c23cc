/// A growable byte buffer that exporters write into. Text is appended in whole runs of UTF-8
/// between the bytes that need escaping, which is what lets a million-node export take a
/// fraction of a second.
public struct OutputBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ byte: UInt8) { bytes.append(byte) }

    public mutating func write<I: BinaryInteger>(integer value: I) { write(String(value)) }

    /// Appends `text`, replacing each byte for which `escape` returns a replacement.
    /// `escape` is only consulted for bytes where `needsEscape` is true (a fast table test).
    private mutating func writeEscaped(_ text: String, needsEscape: (UInt8) -> Bool, escape: (UInt8, inout [UInt8]) -> Void) {
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for position in 0..<utf8.count where needsEscape(utf8[position]) {
                if position > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position])) }
                escape(utf8[position], &bytes)
                runStart = position + 1
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
    }

    /// A JSON string literal (quotes included).
    public mutating func writeJSONString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        writeEscaped(text, needsEscape: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { byte, out in
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default: out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0xF)]])
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A DOT double-quoted string (quotes included). `"` and `\` are escaped so neither can
    /// end the string or start an escape sequence such as `\N`; control characters, which
    /// Graphviz rejects or misdraws, become spaces (newlines become the `\n` line break).
    public mutating func writeDOTString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        writeDOTText(text)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The inside of a DOT string, for labels assembled from several parts.
    public mutating func writeDOTText(_ text: String) {
        writeEscaped(text, needsEscape: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) { byte, out in
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            default: out.append(UInt8(ascii: " "))
            }
        }
    }

    /// XML character data or attribute text. Characters XML 1.0 cannot carry at all (most
    /// C0 controls) are dropped: an XML parser would reject the whole document otherwise.
    public mutating func writeXMLEscaped(_ text: String) {
        writeEscaped(text, needsEscape: { $0 < 0x20 || $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) { byte, out in
            switch byte {
            case 0x26: out.append(contentsOf: Array("&amp;".utf8))
            case 0x3C: out.append(contentsOf: Array("&lt;".utf8))
            case 0x3E: out.append(contentsOf: Array("&gt;".utf8))
            case 0x22: out.append(contentsOf: Array("&quot;".utf8))
            case 0x27: out.append(contentsOf: Array("&apos;".utf8))
            case 0x09, 0x0A, 0x0D: out.append(byte)
            default: break
            }
        }
    }

    /// Mermaid label text inside double quotes: quotes and the characters Mermaid treats
    /// specially become its `#name;` entity codes.
    public mutating func writeMermaidLabel(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        writeEscaped(text, needsEscape: { $0 < 0x20 || $0 == 0x22 || $0 == 0x23 || $0 == 0x3C || $0 == 0x3E || $0 == 0x60 || $0 == 0x7F }) { byte, out in
            switch byte {
            case 0x22: out.append(contentsOf: Array("#quot;".utf8))
            case 0x23: out.append(contentsOf: Array("#35;".utf8))
            case 0x3C: out.append(contentsOf: Array("#lt;".utf8))
            case 0x3E: out.append(contentsOf: Array("#gt;".utf8))
            case 0x60: out.append(contentsOf: Array("#96;".utf8))
            case 0x0A, 0x0D, 0x09: out.append(UInt8(ascii: " "))
            default: break
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
}
