import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Re-hashes stored files: the scrub behind `lineage mirror verify`.
package enum Scrubber {
    /// The SHA-256 of a file, read sequentially in 4 MiB pieces (one buffer per call, so the
    /// memory stays flat whatever the file size).
    package static func sha256(of path: String, progress: (Int64) -> Void = { _ in }) throws -> (SHA256Digest, Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MirrorError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let size = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total: Int64 = 0
        var pending: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, size)
            if count < 0 {
                if errno == EINTR { continue }
                throw MirrorError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += Int64(count)
            pending += Int64(count)
            if pending >= 64 << 20 {
                progress(pending)
                pending = 0
            }
        }
        progress(pending)
        return (SHA256Digest(hasher.finalize()), total)
    }
}

public struct ScrubReport: Sendable {
    public var blobs = 0
    public var bytes: Int64 = 0
    public var seconds: Double = 0
    public var workers = 0
    /// Blobs whose bytes no longer match their name, now in quarantine.
    public var rotten: [(digest: SHA256Digest, actual: String, location: String, files: [String])] = []
    /// Blobs the database knows but the disk has lost.
    public var missing: [SHA256Digest] = []
    public var errors: [String] = []

    public var clean: Bool { rotten.isEmpty && missing.isEmpty && errors.isEmpty }
}

extension MirrorService {
    /// Re-hashes every blob in the store, spreading files over `workers` (default: every core)
    /// so that a store of many files scrubs at the machine's full rate. Rotten blobs go to
    /// quarantine with a record naming the files that used them; their links leave the cache
    /// view, so no client reads them, and the next sync fetches them again.
    public func verify(workers requested: Int? = nil) async throws -> ScrubReport {
        var report = ScrubReport()
        let workers = max(1, requested ?? ProcessInfo.processInfo.activeProcessorCount)
        report.workers = workers
        let stored = try blobs.list().sorted { $0.size > $1.size }  // big files first: even finish
        let started = ContinuousClock.now
        let store = blobs
        let events = self.events
        let results = await withTaskGroup(of: (SHA256Digest, Result<(SHA256Digest, Int64), Error>).self) { group in
            var results: [(SHA256Digest, Result<(SHA256Digest, Int64), Error>)] = []
            var iterator = stored.makeIterator()
            func startNext() -> Bool {
                guard let blob = iterator.next() else { return false }
                group.addTask {
                    let result = Result {
                        try Scrubber.sha256(of: store.path(of: blob.digest).path) { events?.yield(.scrubProgress(bytes: $0)) }
                    }
                    return (blob.digest, result)
                }
                return true
            }
            for _ in 0..<workers where !startNext() { break }
            while let result = await group.next() {
                results.append(result)
                _ = startNext()
            }
            return results
        }
        report.seconds = (ContinuousClock.now - started).seconds
        var healthy: [SHA256Digest] = []
        for (digest, result) in results {
            switch result {
            case .success(let (actual, size)):
                report.blobs += 1
                report.bytes += size
                if actual == digest {
                    healthy.append(digest)
                } else {
                    try await quarantineRotten(digest, actual: actual, size: size, into: &report)
                }
            case .failure(let error):
                report.errors.append("\(error)")
            }
        }
        try await metadata.markVerified(healthy, at: Date())
        let onDisk = Set(stored.map(\.digest))
        for record in try await metadata.blobs() where record.references > 0 && !onDisk.contains(record.digest) && record.state == .ok {
            report.missing.append(record.digest)
            try await metadata.markRotten(record.digest)
        }
        return report
    }

    private func quarantineRotten(_ digest: SHA256Digest, actual: SHA256Digest, size: Int64, into report: inout ScrubReport) async throws {
        let location = try blobs.quarantineStored(digest)
        try await metadata.markRotten(digest)
        var files: [String] = []
        for (repo, commit) in try await metadata.revisions(containing: digest) {
            for file in try await metadata.files(of: repo, commit: commit) where file.blob == digest {
                files.append("\(repo)@\(commit.prefix(12)):\(file.path)")
                cacheView.unlinkBlob(repoID: repo, etag: file.etag)
                try await metadata.recordQuarantine(QuarantineRecord(
                    repo: repo, path: file.path, commit: commit, expected: "sha256:\(digest.hex)", actual: "sha256:\(actual.hex)",
                    size: size, reason: "scrub: stored bytes changed", location: location))
            }
        }
        if files.isEmpty {
            try await metadata.recordQuarantine(QuarantineRecord(
                repo: nil, path: nil, commit: nil, expected: "sha256:\(digest.hex)", actual: "sha256:\(actual.hex)",
                size: size, reason: "scrub: stored bytes changed (no file refers to this blob)", location: location))
        }
        report.rotten.append((digest, "sha256:\(actual.hex)", location, files))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
