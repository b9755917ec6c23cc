import Crypto
import Foundation
import Logging
import ModelMirror

/// The daemon's jobs, done with the mirror: a sync publishes a repo's revision only when
/// every file verified; a verify job re-hashes every stored blob (the periodic scrub) and
/// takes a blob whose bytes changed out of service, into quarantine, so it is fetched
/// again by the next sync of any repo that uses it.
public struct MirrorJobs: JobWork {
    let mirror: MirrorService
    let logger: Logger

    public init(mirror: MirrorService, logger: Logger) {
        self.mirror = mirror
        self.logger = logger
    }

    public func trackedRepos() async throws -> [String] {
        try await mirror.metadata.repos().map(\.id)
    }

    public func perform(_ job: Job) async throws {
        switch job.kind {
        case .sync:
            let report = await mirror.sync(job.repo)
            try Task.checkCancellation()
            guard report.succeeded else {
                var problems = report.failures.map { "\($0.path): \($0.message)" }
                if let error = report.error { problems.insert(error, at: 0) }
                if problems.isEmpty { problems = ["nothing was published"] }
                throw MirrorError("sync of \(job.repo) failed: \(problems.joined(separator: "; "))")
            }
        case .verify:
            try await scrub()
        }
    }

    /// Re-hashes every blob the metadata knows, in 1 MiB reads.
    func scrub() async throws {
        var verified: [ModelMirror.SHA256Digest] = []
        var rotten: [String] = []
        for record in try await mirror.metadata.blobs() where record.state == .ok {
            try Task.checkCancellation()
            guard let url = mirror.blobs.localFile(record.digest) else { continue }
            let (digest, size) = try Self.hash(url)
            if digest == record.digest.hex && size == record.size {
                verified.append(record.digest)
                continue
            }
            let location = try mirror.blobs.quarantineStored(record.digest)
            try await mirror.metadata.markRotten(record.digest)
            let containing = try await mirror.metadata.revisions(containing: record.digest)
            try await mirror.metadata.recordQuarantine(QuarantineRecord(
                repo: containing.first?.repo, path: nil, commit: containing.first?.commit, expected: "sha256:\(record.digest.hex)",
                actual: "sha256:\(digest)", size: size, reason: "scrub: stored bytes changed", location: location, at: Date()))
            rotten.append(record.digest.hex)
            logger.error("scrub: a stored blob no longer matches its digest; quarantined",
                         metadata: ["blob": .string(record.digest.hex), "actual": .string(digest), "quarantine": .string(location)])
        }
        try await mirror.metadata.markVerified(verified, at: Date())
        if !rotten.isEmpty {
            throw MirrorError("scrub found \(rotten.count) blob(s) whose bytes changed (quarantined; the next syncs fetch them again): \(rotten.joined(separator: ", "))")
        }
    }

    static func hash(_ url: URL) throws -> (String, Int64) {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }
}
