import Foundation

/// A small JSON writer with a stable key order: the Hub's answers are compared by clients
/// field by field, and tests compare whole bodies, so ordering must not depend on hashing.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    /// A finite number (callers map infinities and NaN, which JSON cannot spell).
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        JSONText.render(lhs) == JSONText.render(rhs)
    }
}

public enum JSONText {
    public static func object(_ pairs: KeyValuePairs<String, JSONValue>) -> String {
        render(.object(pairs.map { ($0.key, $0.value) }))
    }

    public static func render(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .string(let text): quote(text, into: &out)
        case .int(let number): out += String(number)
        case .number(let number): out += number.isFinite ? "\(number)" : "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out += "," }
                quote(pair.0, into: &out)
                out += ":"
                write(pair.1, into: &out)
            }
            out += "}"
        }
    }

    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            // `<` escaped so JSON embedded in the viewer page's <script> cannot close it.
            case "<": out += "\\u003c"
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
