/// A file path inside a repository snapshot that is safe to create under the store.
///
/// Paths come from upstream trees (git trees, Hub tree listings) that nobody here controls, so
/// each one is checked before it names anything on disk: no absolute paths, no `..` or `.`
/// components, no empty components, no `.git` component (git refuses those too: they would
/// let a tree write into a repository's own metadata), no NUL or backslash, no control
/// characters, and nothing longer than the filesystem allows.
public struct RepoPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let components: [String]

    public var string: String { components.joined(separator: "/") }
    public var description: String { string }
    public var fileName: String { components[components.count - 1] }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "refused tree entry '\(RepoPath.printable(path))': \(reason)" }
    }

    public init(_ raw: String) throws(Refusal) {
        func refuse(_ reason: String) -> Refusal { Refusal(path: raw, reason: reason) }
        if raw.isEmpty { throw refuse("empty path") }
        if raw.hasPrefix("/") { throw refuse("absolute path") }
        if raw.utf8.count > 4096 { throw refuse("path longer than 4096 bytes") }
        for scalar in raw.unicodeScalars {
            if scalar == "\0" { throw refuse("NUL byte in path") }
            if scalar == "\\" { throw refuse("backslash in path (a Windows separator that could climb out)") }
            if scalar.value < 0x20 || scalar.value == 0x7f { throw refuse("control character in path") }
        }
        let parts = raw.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            if part.isEmpty { throw refuse("empty path component") }
            if part == "." || part == ".." { throw refuse("'\(part)' component escapes the snapshot") }
            if part.lowercased() == ".git" { throw refuse("'.git' component would write into git metadata") }
            if part.utf8.count > 255 { throw refuse("component longer than 255 bytes") }
        }
        components = parts
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.string < rhs.string }

    /// The path with control characters escaped, for error messages.
    static func printable(_ raw: String) -> String {
        raw.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
    }
}
