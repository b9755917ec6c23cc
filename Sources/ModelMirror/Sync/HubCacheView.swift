import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Hugging Face cache over the store (`<store>/hub`), laid out as huggingface_hub lays out
/// `HF_HUB_CACHE`:
///
/// ```
/// models--org--name/blobs/<etag>                  hard link to <store>/blobs/sha256/…
/// models--org--name/snapshots/<commit>/<path>     relative symlink to ../../blobs/<etag>
/// models--org--name/refs/<ref>                    the commit, no newline
/// ```
/// The etag is the LFS sha256 for LFS files and the git sha1 for the others, as the Hub's
/// `ETag` gives them. Hard links cost no space and survive a store blob's removal only until
/// `gc` tidies the view; with `HF_HUB_OFFLINE=1 HF_HUB_CACHE=<store>/hub` the client and
/// transformers load the files with no network and no copy.
struct HubCacheView: Sendable {
    let root: URL

    struct ViewError: Error, CustomStringConvertible {
        let description: String
    }

    static func folderName(for repoID: String) -> String {
        "models--" + repoID.split(separator: "/").joined(separator: "--")
    }

    func repoDirectory(_ repoID: String) -> URL { root.appendingPathComponent(Self.folderName(for: repoID)) }

    func snapshotDirectory(_ repoID: String, commit: String) -> URL {
        repoDirectory(repoID).appendingPathComponent("snapshots/\(commit)")
    }

    /// Lays out one commit. The snapshot folder is built beside its final name and renamed into
    /// place, so a reader sees the old snapshot or the whole new one.
    func materialize(repoID: String, commit: String, ref: String, files: [MirroredFile], store: LocalBlobStore) throws {
        let directory = repoDirectory(repoID)
        let blobs = directory.appendingPathComponent("blobs")
        let snapshots = directory.appendingPathComponent("snapshots")
        let refs = directory.appendingPathComponent("refs")
        for folder in [blobs, snapshots, refs] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        for file in files {
            try link(store.path(of: file.blob), to: blobs.appendingPathComponent(file.etag))
        }
        let staging = snapshots.appendingPathComponent(".\(commit).building-\(getpid())")
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for file in files {
            let path = try RepoPath(file.path)
            let target = staging.appendingPathComponent(path.string)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            // From snapshots/<commit>/a/b.bin up to the repo folder: one ".." per component,
            // plus two for snapshots/<commit>.
            let up = String(repeating: "../", count: path.components.count + 1)
            guard symlink("\(up)blobs/\(file.etag)", target.path) == 0 else {
                throw ViewError(description: "cannot link \(target.path) in the cache view: \(String(cString: strerror(errno)))")
            }
        }
        let final = snapshots.appendingPathComponent(commit)
        if FileManager.default.fileExists(atPath: final.path) {
            let old = snapshots.appendingPathComponent(".\(commit).old-\(getpid())")
            try FileManager.default.moveItem(at: final, to: old)
            try FileManager.default.moveItem(at: staging, to: final)
            try? FileManager.default.removeItem(at: old)
        } else {
            try FileManager.default.moveItem(at: staging, to: final)
        }
        if ref != commit, let refPath = try? RepoPath(ref) {
            let refFile = refs.appendingPathComponent(refPath.string)
            try FileManager.default.createDirectory(at: refFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = refFile.deletingLastPathComponent().appendingPathComponent(".\(refPath.fileName).\(getpid())")
            try Data(commit.utf8).write(to: temporary)
            guard rename(temporary.path, refFile.path) == 0 else {
                throw ViewError(description: "cannot write \(refFile.path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Hard-links a store blob into the view, replacing a link to other bytes (a blob that
    /// rotted and was fetched again is a new inode).
    private func link(_ source: URL, to destination: URL) throws {
        var sourceInfo = stat(), destinationInfo = stat()
        guard stat(source.path, &sourceInfo) == 0 else {
            throw ViewError(description: "store blob \(source.path) is missing; run `lineage mirror sync` again")
        }
        if lstat(destination.path, &destinationInfo) == 0 {
            if destinationInfo.st_ino == sourceInfo.st_ino && destinationInfo.st_dev == sourceInfo.st_dev { return }
            unlink(destination.path)
        }
        guard Glibc.link(source.path, destination.path) == 0 else {
            let code = errno
            let hint = code == EXDEV ? " (the hub view and the blobs must be on one filesystem)" : ""
            throw ViewError(description: "cannot hard-link \(source.path) to \(destination.path): \(String(cString: strerror(code)))\(hint)")
        }
    }

    /// Removes the view's links named `etag` in a repo (their bytes rotted): the snapshot's
    /// symlink then dangles, so no client reads the bad bytes, until a sync fetches them again.
    func unlinkBlob(repoID: String, etag: String) {
        unlink(repoDirectory(repoID).appendingPathComponent("blobs/\(etag)").path)
    }

    func removeSnapshot(repoID: String, commit: String) {
        try? FileManager.default.removeItem(at: snapshotDirectory(repoID, commit: commit))
    }

    func removeRepo(_ repoID: String) {
        try? FileManager.default.removeItem(at: repoDirectory(repoID))
    }

    /// Deletes the repo's blob links that no kept snapshot names; returns how many.
    func pruneBlobs(repoID: String, keep etags: Set<String>) -> Int {
        let blobs = repoDirectory(repoID).appendingPathComponent("blobs")
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? [] where !etags.contains(name) {
            if unlink(blobs.appendingPathComponent(name).path) == 0 { removed += 1 }
        }
        return removed
    }

    /// Cache folders of repos the mirror no longer tracks.
    func folders() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix("models--") }
    }
}
