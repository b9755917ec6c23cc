import Foundation

/// Where a tracked repo comes from.
public enum SourceKind: String, Sendable, Codable, CaseIterable {
    /// Any git URL, mirrored with libgit2; LFS objects through the remote's LFS endpoint.
    case git
    /// The Hugging Face HTTP API (or a compatible server such as olah).
    case hub
    /// Made in this store from another mirrored repo (the `-GGUF` repo that quantize on
    /// ingest publishes); never synced from anywhere.
    case derived
}

/// A repo the mirror tracks.
public struct MirrorRepo: Sendable, Equatable, Codable {
    /// `org/name`: the Hub id, also the cache view's `models--org--name`.
    public var id: String
    public var source: SourceKind
    /// The git URL, or the Hub endpoint chosen at `add` (nil: --endpoint / HF_ENDPOINT / the
    /// public Hub at each sync).
    public var url: String?
    /// The upstream repo id on the Hub (may differ from `id` with --as).
    public var upstreamID: String
    /// Branch, tag or commit to follow; nil: the remote's default branch (git) or `main` (Hub).
    public var revision: String?
    public var include: [String]
    public var exclude: [String]
    /// Quantization presets (llama-quantize names such as Q4_K_M) to make of every verified
    /// commit; the mirror only stores them, ModelIngest reads them.
    public var quantize: [String]
    /// For a `.derived` repo: the repo it is made from.
    public var derivedFrom: String?
    public var addedAt: Date

    public init(id: String, source: SourceKind, url: String?, upstreamID: String, revision: String?,
                include: [String], exclude: [String], quantize: [String] = [], derivedFrom: String? = nil,
                addedAt: Date = Date()) {
        self.id = id
        self.source = source
        self.url = url
        self.upstreamID = upstreamID
        self.revision = revision
        self.include = include
        self.exclude = exclude
        self.quantize = quantize
        self.derivedFrom = derivedFrom
        self.addedAt = addedAt
    }
}

/// A file this store made from mirrored inputs (a quantized GGUF): what went in and how,
/// and the stored blob that came out. `key` digests the inputs and the recipe, so the same
/// work is recognised and never done twice.
public struct DerivedArtifact: Sendable, Equatable {
    public var key: SHA256Digest
    public var sourceRepo: String
    public var sourceCommit: String
    /// The stored blobs the output was made from, in path order.
    public var inputs: [SHA256Digest]
    /// What was made, e.g. `quantize Q4_K_M`.
    public var recipe: String
    /// The program and version that made it (a new version that changes bytes makes anew).
    public var producer: String
    public var output: SHA256Digest
    public var size: Int64
    public var createdAt: Date

    public init(key: SHA256Digest, sourceRepo: String, sourceCommit: String, inputs: [SHA256Digest], recipe: String,
                producer: String, output: SHA256Digest, size: Int64, createdAt: Date = Date()) {
        self.key = key
        self.sourceRepo = sourceRepo
        self.sourceCommit = sourceCommit
        self.inputs = inputs
        self.recipe = recipe
        self.producer = producer
        self.output = output
        self.size = size
        self.createdAt = createdAt
    }
}

/// One file of a mirrored commit.
public struct MirroredFile: Sendable, Equatable {
    public var path: String
    public var size: Int64
    /// The git blob id of the tree entry (for an LFS file: of its pointer).
    public var gitOID: String?
    /// The LFS oid when the file is an LFS object.
    public var lfsOID: SHA256Digest?
    /// The stored blob (always SHA-256).
    public var blob: SHA256Digest

    public init(path: String, size: Int64, gitOID: String?, lfsOID: SHA256Digest?, blob: SHA256Digest) {
        self.path = path
        self.size = size
        self.gitOID = gitOID
        self.lfsOID = lfsOID
        self.blob = blob
    }

    /// The name Hugging Face clients give the file in their cache: the LFS sha256, else the
    /// git sha1.
    public var etag: String { lfsOID?.hex ?? gitOID ?? blob.hex }
}

public struct MirroredRevision: Sendable, Equatable {
    public var repo: String
    public var commit: String
    public var syncedAt: Date
    public var fileCount: Int
    public var totalBytes: Int64
}

public enum BlobState: String, Sendable, Codable {
    case ok
    /// The scrub found its bytes no longer match the name; the next sync fetches it again.
    case rotten
}

public struct BlobRecord: Sendable, Equatable {
    public var digest: SHA256Digest
    public var size: Int64
    public var gitOID: String?
    public var references: Int
    public var verifiedAt: Date?
    public var state: BlobState
}

public struct QuarantineRecord: Sendable, Equatable {
    public var repo: String?
    public var path: String?
    public var commit: String?
    public var expected: String
    public var actual: String
    public var size: Int64
    public var reason: String
    public var location: String
    public var at: Date

    public init(repo: String?, path: String?, commit: String?, expected: String, actual: String, size: Int64,
                reason: String, location: String, at: Date = Date()) {
        self.repo = repo
        self.path = path
        self.commit = commit
        self.expected = expected
        self.actual = actual
        self.size = size
        self.reason = reason
        self.location = location
        self.at = at
    }
}

/// The mirror's bookkeeping: repos, mirrored revisions and their files, blobs with reference
/// counts, quarantine records. The embedded implementation is ``SQLiteMirrorMetadata`` in
/// `<store>/lineage.sqlite`; PostgreSQL adds another for several daemons. Async, so that a
/// networked database fits the same surface.
public protocol MirrorMetadataStore: Sendable {
    func upsertRepo(_ repo: MirrorRepo) async throws
    func repo(_ id: String) async throws -> MirrorRepo?
    func repos() async throws -> [MirrorRepo]
    /// Removes the repo, its revisions and files (dropping their blob references).
    func removeRepo(_ id: String) async throws

    func blob(_ digest: SHA256Digest) async throws -> BlobRecord?
    /// A stored, healthy blob whose git blob id is `oid` (a small file met before).
    func blob(gitOID oid: String) async throws -> BlobRecord?
    /// Records a blob that reached the store (verified now).
    func recordBlob(_ digest: SHA256Digest, size: Int64, gitOID: String?) async throws
    func markVerified(_ digests: [SHA256Digest], at: Date) async throws
    func markRotten(_ digest: SHA256Digest) async throws
    func blobs() async throws -> [BlobRecord]
    func deleteBlobRecord(_ digest: SHA256Digest) async throws

    /// Publishes a complete commit in one transaction: the revision, its files (taking a
    /// reference on each blob) and the ref that now points at it.
    func publish(repo: String, commit: String, ref: String, files: [MirroredFile]) async throws
    func revisions(of repo: String) async throws -> [MirroredRevision]
    func files(of repo: String, commit: String) async throws -> [MirroredFile]
    /// Ref name -> commit for a repo.
    func refs(of repo: String) async throws -> [String: String]
    /// The (repo, commit) pairs whose files include `digest`.
    func revisions(containing digest: SHA256Digest) async throws -> [(repo: String, commit: String)]
    /// Drops revisions no ref points at; returns them.
    func pruneUnreferencedRevisions() async throws -> [(repo: String, commit: String)]

    func recordQuarantine(_ record: QuarantineRecord) async throws
    func quarantineRecords() async throws -> [QuarantineRecord]

    /// The artifact made with `key` (same inputs, recipe and producer), if any.
    func artifact(key: SHA256Digest) async throws -> DerivedArtifact?
    /// Records an artifact whose output blob is stored and recorded.
    func recordArtifact(_ artifact: DerivedArtifact) async throws
    /// Every artifact made from `repo`, newest first.
    func artifacts(from repo: String) async throws -> [DerivedArtifact]
}

extension MirrorMetadataStore {
    /// The published commit `revision` names in `repo`: a ref (`main`, `refs/heads/main`,
    /// `v1.0`, `refs/tags/v1.0`) or a mirrored commit (40 hex). Without a revision: the one
    /// the repo follows, else `main`, else its only ref. Nil when nothing published matches.
    public func resolve(_ repo: MirrorRepo, revision requested: String?) async throws -> MirroredRevision? {
        let refs = try await refs(of: repo.id)
        let revisions = try await revisions(of: repo.id)
        let revision = requested ?? repo.revision ?? "main"
        func strip(_ text: String, _ prefix: String) -> String { text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text }
        var commit: String?
        for candidate in [revision, strip(revision, "refs/heads/"), strip(revision, "refs/tags/")] {
            if let found = refs[candidate] { commit = found; break }
        }
        if commit == nil, revision.count == 40, revision.allSatisfy(\.isHexDigit) {
            commit = revisions.first { $0.commit == revision.lowercased() }?.commit
        }
        if commit == nil, requested == nil, refs.count == 1 { commit = refs.values.first }
        guard let commit else { return nil }
        return revisions.first { $0.commit == commit }
    }
}
