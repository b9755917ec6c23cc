import LineageImport

/// Repo ids (`org/name`, or a legacy `name`) name folders in the store, so they are checked
/// like paths, by the Hub's own rule (`HubRepoID`): one or two components of letters,
/// digits, `-`, `_` and `.`, never starting or ending with `-` or `.`, no `--` or `..`.
public enum RepoID {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let id: String
        public let reason: String
        public var description: String { "invalid repo id '\(RepoPath.printable(id))': \(reason); use ORG/NAME (--as ORG/NAME for a git URL)" }
    }

    /// `id` when it is a Hub repo id (`HubRepoID`: the Hub's own rule), else why not.
    public static func validate(_ id: String) throws(Invalid) -> String {
        if let problem = HubRepoID.problem(with: id) { throw Invalid(id: id, reason: problem) }
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
