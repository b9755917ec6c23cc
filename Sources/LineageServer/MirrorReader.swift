import Crypto
import Foundation
import ModelMirror

/// The read side of the mirror for serving: what a request names (repo, revision, path)
/// resolved against the metadata store, only ever to published commits, whose every blob
/// was verified before it was published. Paths are looked up in the database, never joined
/// onto a directory, so no request can reach a file outside the blob store.
public struct MirrorReader: Sendable {
    public let metadata: any MirrorMetadataStore
    public let blobs: LocalBlobStore

    public init(metadata: any MirrorMetadataStore, blobs: LocalBlobStore) {
        self.metadata = metadata
        self.blobs = blobs
    }

    public struct Snapshot: Sendable {
        public let repo: MirrorRepo
        public let commit: String
        public let syncedAt: Date
        public let files: [MirroredFile]
    }

    public func repo(_ id: String) async throws -> MirrorRepo {
        guard let repo = try await metadata.repo(id) else { throw HubError.repoNotFound(id) }
        return repo
    }

    /// A branch or tag name (`main`, `refs/heads/main`, `v1.0`, `refs/tags/v1.0`), or a
    /// mirrored commit (40 hex). Without a revision: the tracked one, else `main`.
    public func snapshot(_ id: String, revision requested: String?) async throws -> Snapshot {
        let repo = try await repo(id)
        guard let published = try await metadata.resolve(repo, revision: requested) else {
            throw HubError.revisionNotFound(requested ?? repo.revision ?? "main", repo: id)
        }
        let files = try await metadata.files(of: id, commit: published.commit)
        return Snapshot(repo: repo, commit: published.commit, syncedAt: published.syncedAt, files: files)
    }

    /// The stored blob for a file, or why it cannot be served.
    public func servable(_ file: MirroredFile, repo: String) async throws -> URL {
        if let record = try await metadata.blob(file.blob), record.state == .rotten {
            throw HubError(status: .serviceUnavailable, code: nil,
                           message: "the stored copy of \(file.path) in \(repo) failed its last verification; the next sync fetches it again")
        }
        guard let url = blobs.localFile(file.blob) else {
            throw HubError(status: .serviceUnavailable, code: nil,
                           message: "the blob of \(file.path) in \(repo) is not in the store (removed by gc?); sync \(repo) again")
        }
        return url
    }

    /// The size of the LFS pointer git stores for an object (the Hub's `pointerSize`).
    static func pointerSize(oid: ModelMirror.SHA256Digest, size: Int64) -> Int {
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid.hex)\nsize \(size)\n".utf8.count
    }
}

/// The directories of a commit's file list, with git tree ids computed from the entries (git's
/// tree object format over the files' blob ids). The mirror does not keep file modes, so
/// every file counts as 100644: a tree holding an executable gets an id git would not.
struct DirectoryTree {
    /// Directory path ("" for the root) -> tree id.
    private(set) var treeIDs: [String: String] = [:]
    /// Directory path -> immediate child directories.
    private(set) var childDirectories: [String: [String]] = [:]
    /// Directory path -> immediate child files.
    private(set) var childFiles: [String: [MirroredFile]] = [:]

    init(files: [MirroredFile]) {
        var directories: Set<String> = [""]
        for file in files {
            let components = file.path.split(separator: "/").map(String.init)
            var parent = ""
            for component in components.dropLast() {
                let directory = parent.isEmpty ? component : "\(parent)/\(component)"
                if directories.insert(directory).inserted { childDirectories[parent, default: []].append(directory) }
                parent = directory
            }
            childFiles[parent, default: []].append(file)
        }
        // Deepest first, so children have ids before their parents need them.
        for directory in directories.sorted(by: { depth($0) > depth($1) }) {
            treeIDs[directory] = treeID(directory)
        }
    }

    private func depth(_ path: String) -> Int { path.isEmpty ? 0 : path.split(separator: "/").count }

    private func treeID(_ directory: String) -> String {
        var entries: [(sortKey: String, bytes: [UInt8])] = []
        for file in childFiles[directory] ?? [] {
            let name = String(file.path.split(separator: "/").last!)
            guard let oid = file.gitOID.flatMap(Self.rawSHA1) else { continue }
            entries.append((name, Array("100644 \(name)".utf8) + [0] + oid))
        }
        for child in childDirectories[directory] ?? [] {
            let name = String(child.split(separator: "/").last!)
            guard let oid = treeIDs[child].flatMap(Self.rawSHA1) else { continue }
            // git sorts a tree's entries by name, with directories compared as `name/`.
            entries.append((name + "/", Array("40000 \(name)".utf8) + [0] + oid))
        }
        entries.sort { Array($0.sortKey.utf8).lexicographicallyPrecedes(Array($1.sortKey.utf8)) }
        let body = entries.flatMap(\.bytes)
        var hasher = Insecure.SHA1()
        hasher.update(data: Array("tree \(body.count)".utf8) + [0])
        hasher.update(data: body)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func rawSHA1(_ hex: String) -> [UInt8]? {
        guard hex.count == 40 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
