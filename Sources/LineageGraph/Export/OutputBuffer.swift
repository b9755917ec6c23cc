/// A growable byte buffer that exporters write into: appending UTF-8 bytes straight into one
/// array is what makes a million-node export take a fraction of a second.
public struct OutputBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ byte: UInt8) { bytes.append(byte) }

    public mutating func write<I: BinaryInteger>(integer value: I) { write(String(value)) }

    /// A JSON string literal (quotes included).
    public mutating func writeJSONString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A DOT double-quoted string (quotes included). `"` and `\` are escaped so neither can
    /// end the string or start an escape sequence such as `\N`; control characters, which
    /// Graphviz rejects or misdraws, become spaces (newlines become the `\n` line break).
    public mutating func writeDOTString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0..<0x20, 0x7F: bytes.append(UInt8(ascii: " "))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// XML character data or attribute text. Characters XML 1.0 cannot carry at all (most
    /// C0 controls) are dropped: an XML parser would reject the whole document otherwise.
    public mutating func writeXMLEscaped(_ text: String) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): write("&amp;")
            case UInt8(ascii: "<"): write("&lt;")
            case UInt8(ascii: ">"): write("&gt;")
            case UInt8(ascii: "\""): write("&quot;")
            case UInt8(ascii: "'"): write("&apos;")
            case 0x09, 0x0A, 0x0D: bytes.append(byte)
            case 0..<0x20: continue
            default: bytes.append(byte)
            }
        }
    }

    /// Mermaid label text inside double quotes: quotes and the characters Mermaid treats
    /// specially become its `#name;` entity codes.
    public mutating func writeMermaidLabel(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": write("#quot;")
            case "#": write("#35;")
            case "<": write("#lt;")
            case ">": write("#gt;")
            case "`": write("#96;")
            case "\n", "\r", "\t": write(" ")
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                write(String(scalar))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
}
