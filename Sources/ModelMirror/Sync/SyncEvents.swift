/// What a sync, scrub or gc reports while it runs, for a progress display or log lines.
public enum MirrorEvent: Sendable {
    case resolving(repo: String)
    case resolved(repo: String, commit: String, files: Int, bytes: Int64, toFetch: Int, bytesToFetch: Int64)
    case fileStarted(repo: String, path: String, size: Int64, resumedFrom: Int64)
    /// Bytes moved since the last report (negative when a transfer had to start over).
    case fileProgress(repo: String, path: String, bytes: Int64)
    case fileRetry(repo: String, path: String, attempt: Int, reason: String, delay: Duration)
    case fileFinished(repo: String, path: String, failure: String?)
    case published(repo: String, commit: String)
    case scrubProgress(bytes: Int64)
    case note(String)
}

/// The outcome of syncing one repo.
public struct SyncReport: Sendable {
    public var repo: String
    public var commit: String?
    public var ref: String?
    public var files = 0
    public var fetched = 0
    public var reused = 0
    public var bytesTransferred: Int64 = 0
    public var totalBytes: Int64 = 0
    public var failures: [(path: String, message: String)] = []
    public var skipped: [(path: String, reason: String)] = []
    public var published = false
    public var lineage: String?
    public var warnings: [String] = []
    /// The repo could not be synced at all (unknown repo, upstream unreachable, bad revision).
    public var error: String?

    public var succeeded: Bool { error == nil && failures.isEmpty && published }

    public init(repo: String) { self.repo = repo }
}
