import Foundation

/// Where verified file contents live, named by SHA-256. The embedded implementation is
/// ``LocalBlobStore`` (a directory); an object store (S3) adds another behind the same
/// surface: stage locally, commit only a verified digest, quarantine what failed.
public protocol BlobStore: Sendable {
    func has(_ digest: SHA256Digest) -> Bool
    /// Opens a stored blob for reading.
    func open(_ digest: SHA256Digest) throws(BlobStoreError) -> FileHandle
    /// The blob as a file on this machine, for hard links into the Hugging Face cache view;
    /// nil where blobs are not local files.
    func localFile(_ digest: SHA256Digest) -> URL?
    /// Opens (or resumes) the staging file for `key`. A staged prefix left by an earlier
    /// run is kept and hashed again so that the transfer continues from its offset.
    func stage(_ key: StagingKey) throws(BlobStoreError) -> StagedTransfer
    /// Checks the staged bytes against `expectation`; only a full match is fsynced and
    /// renamed into place. A mismatch moves the bytes to quarantine and throws
    /// ``BlobStoreError/verificationFailed(_:)``. `inspect` then looks at the verified file
    /// (the safetensors structural check); if it throws, the bytes go to quarantine too and
    /// ``BlobStoreError/refused(reason:quarantinedAt:)`` is thrown.
    func commit(
        _ transfer: StagedTransfer, expecting expectation: Expectation, inspect: (URL) throws -> Void
    ) throws(BlobStoreError) -> CommittedBlob
    /// Commits bytes this store produced (a quantized GGUF), named by the digest they hashed
    /// to while they were written: the same fsync + rename into place as a verified transfer.
    /// `inspect` checks the finished file first; if it throws, the staged bytes are deleted
    /// (made here, they are not evidence of an upstream fault) and the error is rethrown.
    func commitProduced(_ transfer: StagedTransfer, inspect: (URL) throws -> Void) throws -> CommittedBlob
    /// Moves a stored blob that no longer matches its name (found by the scrub) to
    /// quarantine; returns where it went.
    func quarantineStored(_ digest: SHA256Digest) throws(BlobStoreError) -> String
    func delete(_ digest: SHA256Digest) throws(BlobStoreError)
    /// Every stored blob with its size in bytes.
    func list() throws(BlobStoreError) -> [(digest: SHA256Digest, size: Int64)]
    /// Staged transfers and their sizes, for `gc` and reports.
    func staged() throws(BlobStoreError) -> [(key: String, size: Int64, modified: Date)]
    func discardStaged(_ key: String) throws(BlobStoreError)
}

/// Names a staging file so that the next run finds it again: the digest the transfer is
/// expected to produce.
public struct StagingKey: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    package init(name: String) { self.name = name }
    public static func sha256(_ digest: SHA256Digest) -> StagingKey { StagingKey(name: "sha256-\(digest.hex)") }
    public static func git(_ oid: GitObjectID) -> StagingKey { StagingKey(name: "gitsha1-\(oid.hex)") }
    /// Bytes this store makes (a quantization), keyed by the digest of what goes into them.
    public static func produced(_ key: SHA256Digest) -> StagingKey { StagingKey(name: "made-\(key.hex)") }
    public var description: String { name }
}

/// What the staged bytes must be. At least one digest is always given.
public struct Expectation: Sendable, Equatable {
    public var sha256: SHA256Digest?
    public var gitOID: GitObjectID?
    public var size: Int64?

    public init(sha256: SHA256Digest? = nil, gitOID: GitObjectID? = nil, size: Int64? = nil) {
        precondition(sha256 != nil || gitOID != nil, "an expectation names a digest")
        self.sha256 = sha256
        self.gitOID = gitOID
        self.size = size
    }

    public var expectedDescription: String {
        sha256.map { "sha256:\($0.hex)" } ?? "git sha1 \(gitOID!.hex)"
    }
}

public struct CommittedBlob: Sendable, Equatable {
    public let digest: SHA256Digest
    public let size: Int64
    /// The blob's git object id when it was computed (small files).
    public let gitOID: GitObjectID?
    /// False when another run had already stored the same bytes.
    public let newlyStored: Bool
}

public struct VerificationFailure: Sendable, Equatable, CustomStringConvertible {
    public let expected: String
    public let actual: String
    public let expectedSize: Int64?
    public let actualSize: Int64
    /// Where the bytes were kept for inspection.
    public let quarantinedAt: String

    public var description: String {
        var text = "expected \(expected)"
        if let expectedSize, expectedSize != actualSize { text += " (\(expectedSize) bytes)" }
        text += ", got \(actual)"
        if let expectedSize, expectedSize != actualSize { text += " (\(actualSize) bytes)" }
        return text + "; the bytes are kept in \(quarantinedAt)"
    }
}

public enum BlobStoreError: Error, Sendable, CustomStringConvertible {
    case verificationFailed(VerificationFailure)
    case refused(reason: String, quarantinedAt: String)
    case diskFull(path: String)
    case busy(key: String, path: String)
    case notFound(SHA256Digest, path: String)
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .verificationFailed(let failure):
            "verification failed: \(failure)"
        case .refused(let reason, let location):
            "refused: \(reason); the bytes are kept in \(location)"
        case .diskFull(let path):
            "the disk is full (ENOSPC) writing \(path); the partial transfer was removed and nothing was published. Free space (or move the store with --store) and sync again"
        case .busy(let key, let path):
            "another lineage process is transferring \(key) (\(path) is locked); let it finish and sync again"
        case .notFound(let digest, let path):
            "blob \(digest) is not in the store (\(path))"
        case .io(let operation, let path, let code):
            "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
