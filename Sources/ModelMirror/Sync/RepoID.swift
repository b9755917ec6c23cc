/// Repo ids (`org/name`, or a legacy `name`) name folders in the store, so they are checked
/// like paths: one or two components of letters, digits, `-`, `_` and `.`, never `.`/`..`.
public enum RepoID {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let id: String
        public let reason: String
        public var description: String { "invalid repo id '\(RepoPath.printable(id))': \(reason); use ORG/NAME (--as ORG/NAME for a git URL)" }
    }

    public static func validate(_ id: String) throws(Invalid) -> String {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { throw Invalid(id: id, reason: "it has \(parts.count) components, not 1 or 2") }
        for part in parts {
            guard !part.isEmpty else { throw Invalid(id: id, reason: "empty component") }
            guard part != "." && part != ".." else { throw Invalid(id: id, reason: "'\(part)' is not a name") }
            guard !part.contains("--") else { throw Invalid(id: id, reason: "'--' would be ambiguous in the cache folder name") }
            guard part.utf8.count <= 96, part.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == 0x2d || byte == 0x5f || byte == 0x2e
            }) else { throw Invalid(id: id, reason: "only letters, digits, '-', '_' and '.' (at most 96) per component") }
        }
        return id
    }

    /// A git URL's default id: its last two path components without `.git`
    /// (`https://host/org/name.git` -> `org/name`, `git@host:org/name` -> `org/name`).
    public static func defaultID(forGitURL url: String) -> String? {
        var path = Substring(url)
        if let scheme = path.range(of: "://") {
            path = path[scheme.upperBound...]
            if !url.hasPrefix("file://"), let slash = path.firstIndex(of: "/") { path = path[slash...] }
        } else if let colon = path.firstIndex(of: ":"), !path[..<colon].contains("/") {
            path = path[path.index(after: colon)...]
        }
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<query] }
        var parts = path.split(separator: "/").map(String.init)
        guard var last = parts.popLast() else { return nil }
        if last.hasSuffix(".git") { last.removeLast(4) }
        if last.isEmpty, let previous = parts.popLast() { last = previous }
        let candidate = parts.last.map { "\($0)/\(last)" } ?? last
        return (try? validate(candidate)) ?? nil
    }
}
