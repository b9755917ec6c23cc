import Foundation
import Logging
import ModelIngest
import ModelMirror

/// The daemon's jobs, done with the mirror: a sync publishes a repo's revision only when
/// every file verified, then queues a quantize job for that commit when the repo asks for
/// presets; a quantize job makes them (quantize on ingest); a verify job is the periodic scrub.
public struct MirrorJobs: JobWork {
    let mirror: MirrorService
    let queue: SQLiteJobQueue
    let ingest: QuantizeIngest
    let logger: Logger

    public init(mirror: MirrorService, queue: SQLiteJobQueue, logger: Logger) {
        self.mirror = mirror
        self.queue = queue
        ingest = QuantizeIngest(mirror: mirror, lineage: mirror.lineage)
        self.logger = logger
    }

    /// Repos to sync: derived ones (org/name-GGUF) are made from their source, never synced.
    public func trackedRepos() async throws -> [String] {
        try await mirror.metadata.repos().filter { $0.source != .derived }.map(\.id)
    }

    public func perform(_ job: Job) async throws {
        switch job.kind {
        case .sync:
            let report = await mirror.sync(job.repo, revision: job.payload.isEmpty ? nil : job.payload)
            try Task.checkCancellation()
            let target = job.payload.isEmpty ? job.repo : "\(job.repo)@\(job.payload)"
            logger.log(level: report.succeeded ? .info : .warning, "sync result", metadata: Self.metadata(report, job: job))
            guard report.succeeded else {
                var problems = report.failures.map { "\($0.path): \($0.message)" }
                if let error = report.error { problems.insert(error, at: 0) }
                if problems.isEmpty { problems = ["nothing was published"] }
                throw MirrorError("sync of \(target) failed: \(problems.joined(separator: "; "))")
            }
            // A job of its own (lease, retries, backoff, resumed after a kill) rather than part
            // of the sync: the commit is already published and served whatever the quantizer does.
            if let commit = report.commit, let repo = try await mirror.metadata.repo(job.repo), !repo.quantize.isEmpty {
                try await queue.enqueue(.quantize, repo: job.repo, payload: commit)
            }
        case .quantize:
            let logger = logger
            let report = await ingest.run(repo: job.repo, commit: job.payload.isEmpty ? nil : job.payload) { line in
                logger.info("\(line)", metadata: ["repo": .string(job.repo)])
            }
            for warning in report.warnings { logger.warning("\(warning)", metadata: ["repo": .string(job.repo)]) }
            for made in report.made where !made.reused {
                logger.notice("quantized", metadata: [
                    "repo": .string(report.derivedRepo), "file": .string(made.file), "preset": .string(made.preset.rawValue),
                    "sha256": .string(made.digest.hex), "bytes": .stringConvertible(made.size),
                    "seconds": .stringConvertible(made.seconds)])
            }
            guard report.succeeded else {
                var problems = report.failures.map { "\($0.preset): \($0.message)" }
                if let error = report.error { problems.insert(error, at: 0) }
                throw MirrorError("quantize of \(job.repo)@\(job.payload.prefix(12)) failed: \(problems.joined(separator: "; "))")
            }
        case .verify:
            try await scrub()
        }
    }

    /// What a sync did, as log fields (the job's own fields come from JobRunner).
    static func metadata(_ report: SyncReport, job: Job) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "job": .stringConvertible(job.id), "repo": .string(job.repo), "revision": .string(job.payload.isEmpty ? report.ref ?? "" : job.payload),
            "published": .stringConvertible(report.published), "files": .stringConvertible(report.files),
            "fetched": .stringConvertible(report.fetched), "reused": .stringConvertible(report.reused),
            "bytes_transferred": .stringConvertible(report.bytesTransferred), "bytes_total": .stringConvertible(report.totalBytes),
            "failures": .stringConvertible(report.failures.count),
        ]
        if let commit = report.commit { fields["commit"] = .string(commit) }
        if let error = report.error { fields["error"] = .string(error) }
        return fields
    }

    /// The mirror's own scrub (`lineage mirror verify`), on one worker: the daemon scrubs
    /// beside serving, not instead of it. Rot is quarantined and taken out of the cache view
    /// there; here it fails the job, so it shows in the queue, the log and the metrics.
    func scrub() async throws {
        let report = try await mirror.verify(workers: 1)
        guard report.clean else {
            var problems = report.rotten.map { "\($0.digest.hex) changed (now \($0.actual), quarantined at \($0.location))" }
            problems += report.missing.map { "\($0.hex) missing from the store" }
            problems += report.errors
            throw MirrorError("scrub of \(report.blobs) blobs found \(problems.count) problem(s); the next syncs fetch them again: \(problems.joined(separator: "; "))")
        }
    }
}
