import Crypto
import Foundation

/// OpenSSH's known_hosts files, read the way `ssh` reads them, to check the host key an ssh
/// remote presents before any credential is offered. (libgit2 1.5 checks nothing itself: a
/// fetch without this check would talk to whoever answers.)
///
/// A line is `[@marker] patterns keytype base64-key [comment]`; patterns are comma-separated
/// host names with `*` and `?` wildcards and `!` negation, `[host]:port` for a port other than
/// 22, or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` (`ssh-keygen -H`).
/// `@revoked` keys are refused wherever they appear; `@cert-authority` lines are skipped (no
/// host certificates here).
struct KnownHosts: Sendable {
    struct Entry: Sendable {
        let file: String
        let line: Int
        let patterns: String
        let key: [UInt8]
        let revoked: Bool
    }

    enum Verdict: Equatable, Sendable {
        case known(file: String, line: Int)
        /// No line names the host with a key of this type.
        case unknown
        /// A line names the host with another key of the same type.
        case changed(file: String, line: Int)
        case revoked(file: String, line: Int)
    }

    let files: [String]
    private let entries: [Entry]

    init(files: [String]) {
        self.files = files
        entries = files.flatMap { Self.parse(file: $0) }
    }

    static func parse(file: String) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        var entries: [Entry] = []
        for (index, rawLine) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var revoked = false
            if first.hasPrefix("@") {
                guard first == "@revoked" else { continue }
                revoked = true
                fields.removeFirst()
            }
            guard fields.count >= 3, let key = Data(base64Encoded: fields[2]) else { continue }
            entries.append(Entry(file: file, line: index + 1, patterns: fields[0], key: Array(key), revoked: revoked))
        }
        return entries
    }

    /// The name known_hosts files use for a host and port.
    static func name(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    func check(host: String, port: Int, key: [UInt8]) -> Verdict {
        let name = Self.name(host: host.lowercased(), port: port)
        let lines = entries.filter { Self.matches($0.patterns, name) }
        if let revoked = lines.first(where: { $0.revoked && $0.key == key }) {
            return .revoked(file: revoked.file, line: revoked.line)
        }
        // A matching key anywhere wins over a stale line of the same type elsewhere, as in ssh.
        if let known = lines.first(where: { !$0.revoked && $0.key == key }) {
            return .known(file: known.file, line: known.line)
        }
        let type = Self.keyType(key)
        if let stale = lines.first(where: { !$0.revoked && Self.keyType($0.key) == type }) {
            return .changed(file: stale.file, line: stale.line)
        }
        return .unknown
    }

    /// Whether a line's pattern list names `name`: some positive pattern matches and no
    /// negated one does.
    static func matches(_ patterns: String, _ name: String) -> Bool {
        if patterns.hasPrefix("|1|") { return hashedMatches(patterns, name) }
        var matched = false
        for pattern in patterns.split(separator: ",") {
            let negated = pattern.hasPrefix("!")
            let body = (negated ? String(pattern.dropFirst()) : String(pattern)).lowercased()
            guard wildcardMatches(Array(body.utf8)[...], Array(name.utf8)[...]) else { continue }
            if negated { return false }
            matched = true
        }
        return matched
    }

    /// OpenSSH's `match_pattern`: `*` any run, `?` any one byte, everything else literal
    /// (unlike fnmatch, `[` is literal: `[host]:port` names are patterns too).
    static func wildcardMatches(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return name.isEmpty }
        if first == UInt8(ascii: "*") {
            let rest = pattern.dropFirst()
            var candidate = name
            while true {
                if wildcardMatches(rest, candidate) { return true }
                guard !candidate.isEmpty else { return false }
                candidate = candidate.dropFirst()
            }
        }
        guard let head = name.first, first == UInt8(ascii: "?") || first == head else { return false }
        return wildcardMatches(pattern.dropFirst(), name.dropFirst())
    }

    private static func hashedMatches(_ pattern: String, _ name: String) -> Bool {
        let parts = pattern.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let salt = Data(base64Encoded: String(parts[2])),
              let hash = Data(base64Encoded: String(parts[3])) else { return false }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: salt))
        return Data(mac) == hash
    }

    /// The key's type from its wire encoding (a length-prefixed string first): `ssh-ed25519`.
    static func keyType(_ key: [UInt8]) -> String {
        guard key.count >= 4 else { return "unknown" }
        let length = Int(key[0]) << 24 | Int(key[1]) << 16 | Int(key[2]) << 8 | Int(key[3])
        guard length > 0, length <= key.count - 4 else { return "unknown" }
        return String(decoding: key[4..<(4 + length)], as: UTF8.self)
    }

    /// The fingerprint `ssh-keygen -l` and `ssh` print: `SHA256:` and unpadded base64.
    static func fingerprint(_ key: [UInt8]) -> String {
        var encoded = Data(SHA256.hash(data: key)).base64EncodedString()
        while encoded.hasSuffix("=") { encoded.removeLast() }
        return "SHA256:" + encoded
    }
}
