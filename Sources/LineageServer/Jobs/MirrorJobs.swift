import Foundation
import Logging
import ModelMirror

/// The daemon's jobs, done with the mirror: a sync publishes a repo's revision only when
/// every file verified; a verify job is the periodic scrub.
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
