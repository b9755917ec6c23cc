import Foundation

public struct GCReport: Sendable {
    public var prunedRevisions: [(repo: String, commit: String)] = []
    public var deletedBlobs = 0
    public var freedBytes: Int64 = 0
    public var removedViewLinks = 0
    public var discardedStaging = 0
    public var keptStaging: Int64 = 0
}

extension MirrorService {
    /// Drops revisions no ref points at, then blobs no file refers to, then the cache view's
    /// links to them. Staged transfers are kept (they resume) unless `purgeStaging`.
    public func gc(purgeStaging: Bool = false) async throws -> GCReport {
        let lock = try StoreLock(root: root, exclusive: true)
        defer { lock.release() }
        var report = GCReport()
        report.prunedRevisions = try await metadata.pruneUnreferencedRevisions()
        for revision in report.prunedRevisions {
            cacheView.removeSnapshot(repoID: revision.repo, commit: revision.commit)
        }
        let records = try await metadata.blobs()
        let known = Set(records.map(\.digest))
        for record in records where record.references == 0 {
            if let size = try? FileManager.default.attributesOfItem(atPath: blobs.path(of: record.digest).path)[.size] as? Int64 {
                report.freedBytes += size
            }
            try blobs.delete(record.digest)
            try await metadata.deleteBlobRecord(record.digest)
            report.deletedBlobs += 1
        }
        // Blobs that reached the disk but never the database (a crash between the two).
        for blob in try blobs.list() where !known.contains(blob.digest) {
            try blobs.delete(blob.digest)
            report.freedBytes += blob.size
            report.deletedBlobs += 1
        }
        let repos = try await metadata.repos()
        for repo in repos {
            var etags = Set<String>()
            for revision in try await metadata.revisions(of: repo.id) {
                for file in try await metadata.files(of: repo.id, commit: revision.commit) { etags.insert(file.etag) }
            }
            report.removedViewLinks += cacheView.pruneBlobs(repoID: repo.id, keep: etags)
        }
        let tracked = Set(repos.map { HubCacheView.folderName(for: $0.id) })
        for folder in cacheView.folders() where !tracked.contains(folder) {
            try? FileManager.default.removeItem(at: cacheView.root.appendingPathComponent(folder))
        }
        for staged in try blobs.staged() {
            if purgeStaging {
                try blobs.discardStaged(staged.key)
                report.discardedStaging += 1
            } else {
                report.keptStaging += staged.size
            }
        }
        return report
    }
}
