/// A Git LFS pointer file (git-lfs docs/spec.md): a git blob under 1024 bytes of
/// `key value\n` lines, `version` first, then the other keys in sorted order.
public struct LFSPointer: Hashable, Sendable {
    public static let version = "https://git-lfs.github.com/spec/v1"
    /// Pointers are smaller than this; git-lfs never reads more when it looks for one.
    public static let maximumSize = 1024

    public let oid: SHA256Digest
    public let size: Int64
    /// Keys beyond version/oid/size, kept as the spec asks.
    public let extraKeys: [String: String]

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { "invalid LFS pointer: \(reason)" }
    }

    /// What a small blob is: a pointer, a file that is not meant as one, or text that claims
    /// to be a pointer and lies (wrong oid syntax, bad size, keys out of order).
    public enum Classification: Sendable, Equatable {
        case pointer(LFSPointer)
        case notAPointer
        case invalid(Invalid)
    }

    public static func classify(_ bytes: some Collection<UInt8>) -> Classification {
        guard bytes.count < maximumSize, bytes.starts(with: Array("version ".utf8)) else { return .notAPointer }
        guard let text = String(validating: Array(bytes), as: UTF8.self) else { return .notAPointer }
        // Only text that names an LFS spec version claims to be a pointer; git-lfs's own
        // "version https://hawser.github.com/spec/v1" alias is accepted the same way.
        let firstLine = text.prefix { $0 != "\n" }
        guard firstLine.contains("git-lfs") || firstLine.contains("hawser") else { return .notAPointer }
        do { return .pointer(try parse(text)) } catch { return .invalid(error) }
    }

    public static func parse(_ text: String) throws(Invalid) -> LFSPointer {
        guard text.utf8.count < maximumSize else { throw Invalid(reason: "\(text.utf8.count) bytes, pointers are under \(maximumSize)") }
        guard text.hasSuffix("\n") else { throw Invalid(reason: "does not end with a newline") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        var keys: [String] = []
        var values: [String: String] = [:]
        for line in lines {
            guard let space = line.firstIndex(of: " ") else { throw Invalid(reason: "line '\(line)' is not 'key value'") }
            let key = String(line[..<space])
            let value = String(line[line.index(after: space)...])
            guard !key.isEmpty, key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d }) else {
                throw Invalid(reason: "key '\(key)' is not lowercase [a-z0-9.-]")
            }
            guard values[key] == nil else { throw Invalid(reason: "key '\(key)' appears twice") }
            keys.append(key)
            values[key] = value
        }
        guard keys.first == "version" else { throw Invalid(reason: "the first key must be 'version'") }
        let version = values["version"]!
        guard version == Self.version || version == "https://hawser.github.com/spec/v1" else {
            throw Invalid(reason: "unknown version '\(version)'")
        }
        let rest = Array(keys.dropFirst())
        guard rest == rest.sorted() else { throw Invalid(reason: "keys after 'version' are not sorted") }
        guard let oidValue = values["oid"] else { throw Invalid(reason: "no 'oid' line") }
        guard oidValue.hasPrefix("sha256:") else { throw Invalid(reason: "oid '\(oidValue)' is not 'sha256:<hex>'") }
        guard let oid = SHA256Digest(hex: oidValue.dropFirst("sha256:".count)) else {
            throw Invalid(reason: "oid '\(oidValue)' is not sha256: followed by 64 lowercase hex digits")
        }
        guard let sizeValue = values["size"] else { throw Invalid(reason: "no 'size' line") }
        guard !sizeValue.isEmpty, sizeValue.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let size = Int64(sizeValue) else {
            throw Invalid(reason: "size '\(sizeValue)' is not a non-negative decimal integer")
        }
        var extra = values
        for known in ["version", "oid", "size"] { extra[known] = nil }
        return LFSPointer(oid: oid, size: size, extraKeys: extra)
    }

    /// The canonical text git-lfs writes (used by tests and by the Hub source, which never
    /// sees the pointer itself).
    public var text: String {
        var lines = ["version \(Self.version)"]
        var rest = extraKeys
        rest["oid"] = "sha256:\(oid.hex)"
        rest["size"] = String(size)
        for key in rest.keys.sorted() { lines.append("\(key) \(rest[key]!)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public init(oid: SHA256Digest, size: Int64, extraKeys: [String: String] = [:]) {
        self.oid = oid
        self.size = size
        self.extraKeys = extraKeys
    }
}
