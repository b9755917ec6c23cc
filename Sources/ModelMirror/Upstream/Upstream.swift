import Foundation

/// A file of an upstream commit and what its bytes must hash to.
public struct UpstreamFile: Sendable, Equatable {
    public let path: RepoPath
    /// The file's size (for an LFS file: the object's, not the pointer's).
    public let size: Int64
    /// The tree entry's git blob id (for an LFS file: the pointer's).
    public let treeOID: GitObjectID?
    /// Set when the file is an LFS object.
    public let lfs: LFSPointer?

    public init(path: RepoPath, size: Int64, treeOID: GitObjectID?, lfs: LFSPointer?) {
        self.path = path
        self.size = size
        self.treeOID = treeOID
        self.lfs = lfs
    }

    /// LFS files are checked against the oid (SHA-256), small files against their git blob id
    /// (SHA-1 over git's header and the bytes); both against the size.
    var expectation: Expectation {
        if let lfs { return Expectation(sha256: lfs.oid, size: lfs.size) }
        return Expectation(gitOID: treeOID, size: size)
    }

    var stagingKey: StagingKey {
        if let lfs { return .sha256(lfs.oid) }
        return .git(treeOID!)
    }

    /// Small files carry a git hash in staging; it needs the size up front.
    var gitSize: Int64? { lfs == nil ? size : nil }
}

/// A commit as an upstream lists it: its files, and entries refused before any byte moved.
public struct UpstreamSnapshot: Sendable {
    public let commit: String
    /// What the commit is recorded under (`main`, a tag, or the commit itself).
    public let ref: String
    public var files: [UpstreamFile]
    /// Tree entries that cannot be mirrored (unsafe paths, lying pointers, symlinks).
    public var refused: [(path: String, reason: String)]
    /// Entries left out on purpose (submodules), reported but not failures.
    public var skipped: [(path: String, reason: String)]
}

/// What a transfer reports while it runs.
struct FetchReporter: Sendable {
    let progress: @Sendable (Int64) -> Void
    let retry: @Sendable (Int, String, Duration) -> Void
}

/// Where a tracked repo's bytes come from: the git source (libgit2 + LFS) or the Hub source
/// (HTTP API). The sync engine drives either the same way.
protocol UpstreamSource: Sendable {
    /// Brings the upstream's state local where that applies (git fetch) and lists the commit
    /// the repo follows.
    func snapshot() async throws -> UpstreamSnapshot
    /// Called once with every file that must be fetched, before any transfer (the LFS batch
    /// request); returns per-file failures.
    func prepare(_ files: [UpstreamFile], ref: String) async -> [RepoPath: String]
    /// Streams one file of `commit` into `transfer`, resuming at its offset.
    func fetch(_ file: UpstreamFile, commit: String, into transfer: StagedTransfer, reporter: FetchReporter) async throws
}

/// Include/exclude globs as huggingface_hub applies them (`fnmatch` without FNM_PATHNAME, so
/// `*` crosses `/`; a pattern ending in `/` means everything under it).
public struct PathFilter: Sendable, Equatable {
    public var include: [String]
    public var exclude: [String]

    public init(include: [String], exclude: [String]) {
        self.include = include
        self.exclude = exclude
    }

    public func admits(_ path: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { Self.matches($0, path) }) { return false }
        return !exclude.contains { Self.matches($0, path) }
    }

    static func matches(_ pattern: String, _ path: String) -> Bool {
        let pattern = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return fnmatch(pattern, path, 0) == 0
    }
}
