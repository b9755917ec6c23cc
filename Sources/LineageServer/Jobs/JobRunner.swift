import Foundation
import Hummingbird
import Logging
import ModelMirror
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// The scheduler and the workers, one Service. The scheduler enqueues a sync for every
/// tracked repo whose interval has passed (repos from the configuration and from
/// `lineage mirror add` alike) and a store verification every scrub interval; the workers
/// claim jobs with a lease, renew it while they work, and finish or fail them (bounded
/// retries, exponential backoff).
///
/// Graceful shutdown (SIGTERM): the scheduler stops, idle workers stop, and a job in progress
/// is cancelled where it stands: a transfer's bytes stay staged (the next sync resumes from
/// them), nothing unverified is published, and the job is released to the queue without
/// counting an attempt. A daemon killed with -9 leaves its jobs `running`; the next start
/// on this host requeues those whose process is gone.
public struct JobRunner: Service, CustomStringConvertible {
    let queue: SQLiteJobQueue
    let work: any JobWork
    let settings: LiveSettings
    let metrics: ServerMetrics
    let logger: Logger
    let host: String
    /// How often the scheduler looks at the repos and an idle worker at the queue.
    let tick: Duration

    public init(queue: SQLiteJobQueue, work: any JobWork, settings: LiveSettings, metrics: ServerMetrics, logger: Logger,
                tick: Duration = .seconds(2)) {
        self.queue = queue
        self.work = work
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.tick = tick
        host = ProcessInfo.processInfo.hostName
    }

    /// What service-lifecycle logs for this service: its name, not every field it holds.
    public var description: String { "JobRunner" }

    public func run() async throws {
        let recovered = try await queue.recover(host: host, isAlive: { kill($0, 0) == 0 || errno == EPERM })
        for job in recovered {
            logger.notice("resuming a job left running by a stopped daemon", metadata: Self.metadata(job))
        }
        let workers = await settings.configuration.workers
        // Graceful shutdown cancels the loops: sleeping ones end, a running job is interrupted.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await schedule() }
                for index in 0..<workers {
                    group.addTask { await workLoop(JobOwner(host: host, pid: getpid(), worker: index)) }
                }
            }
        }
    }

    // MARK: Scheduler

    private func schedule() async {
        while !Task.isCancelled {
            do {
                try await enqueueDue()
            } catch {
                logger.error("the scheduler could not read the store: \(error)")
            }
            guard (try? await Task.sleep(for: tick)) != nil else { return }
        }
    }

    func enqueueDue(now: Date = Date()) async throws {
        let configuration = await settings.configuration
        let intervals = Dictionary(configuration.repos.map { ($0.id, $0.interval) }, uniquingKeysWith: { a, _ in a })
        for repo in try await work.trackedRepos() {
            let interval = intervals[repo] ?? DaemonConfiguration.defaultSyncInterval
            // One job per revision (the payload names it), so each branch or tag has its own
            // schedule, retries and place in the queue.
            for revision in configuration.syncPayloads(for: repo) {
                guard try await !queue.hasOpen(.sync, repo: repo, payload: revision) else { continue }
                if let last = try await queue.lastSuccess(.sync, repo: repo, payload: revision),
                   now.timeIntervalSince(last) < SQLiteJobQueue.seconds(interval) { continue }
                try await queue.enqueue(.sync, repo: repo, payload: revision)
            }
        }
        if try await !queue.hasOpen(.verify, repo: "") {
            let last = try await queue.lastSuccess(.verify, repo: "")
            if last == nil || now.timeIntervalSince(last!) >= SQLiteJobQueue.seconds(configuration.scrubInterval) {
                try await queue.enqueue(.verify, at: last == nil ? now.addingTimeInterval(SQLiteJobQueue.seconds(configuration.scrubInterval)) : now)
            }
        }
    }

    // MARK: Workers

    private func workLoop(_ owner: JobOwner) async {
        while !Task.isCancelled {
            let job: Job?
            do {
                job = try await queue.claim(owner: owner.description)
            } catch {
                logger.error("cannot claim a job: \(error)")
                job = nil
            }
            guard let job else {
                guard (try? await Task.sleep(for: tick)) != nil else { return }
                continue
            }
            await run(job, owner: owner.description)
        }
    }

    private func run(_ job: Job, owner: String) async {
        let start = ContinuousClock.now
        logger.info("job started", metadata: Self.metadata(job))
        let outcome: JobOutcome = await withTaskGroup(of: JobOutcome?.self) { group in
            group.addTask {
                do {
                    try await work.perform(job)
                    return .done
                } catch {
                    return Task.isCancelled ? .interrupted : .failed("\(error)")
                }
            }
            // Keeps the lease alive while the job runs; a lost lease means another worker
            // took the job over (this one was too slow to renew), so this one stops.
            group.addTask {
                while true {
                    guard (try? await Task.sleep(for: queue.lease / 3)) != nil else { return nil }
                    if (try? await queue.renew(job.id, owner: owner)) == false { return .lostLease }
                }
            }
            // The renewal task ends with nil when it is cancelled (shutdown): keep waiting for
            // the job itself, which then ends as interrupted.
            var outcome = JobOutcome.interrupted
            while let result = await group.next() {
                if let result {
                    outcome = result
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
        let seconds = RequestMetricsMiddleware<BasicRequestContext>.seconds(since: start)
        // Recorded from a task of its own: this one may be cancelled (shutdown), and the
        // database refuses work from a cancelled task.
        await Task { await record(outcome, of: job, owner: owner, seconds: seconds) }.value
    }

    private func record(_ outcome: JobOutcome, of job: Job, owner: String, seconds: Double) async {
        do {
            switch outcome {
            case .done:
                try await queue.finish(job.id, owner: owner)
                metrics.job(kind: job.kind.rawValue, outcome: "done", seconds: seconds)
                logger.info("job done", metadata: Self.metadata(job, seconds: seconds))
            case .failed(let message):
                let state = try await queue.fail(job.id, owner: owner, error: message)
                metrics.job(kind: job.kind.rawValue, outcome: state == .failed ? "failed" : "retry", seconds: seconds)
                var fields = Self.metadata(job, seconds: seconds)
                fields["error"] = .string(message)
                fields["state"] = .string(state.rawValue)
                logger.error("job failed\(state == .failed ? " for good" : ", will retry"): \(message)", metadata: fields)
            case .interrupted:
                try await queue.release(job.id, owner: owner)
                logger.notice("job interrupted by shutdown; it resumes on the next start", metadata: Self.metadata(job, seconds: seconds))
            case .lostLease:
                logger.warning("lost the lease of a job; another worker has it", metadata: Self.metadata(job, seconds: seconds))
            }
        } catch {
            logger.error("cannot record the end of a job: \(error)", metadata: Self.metadata(job))
        }
    }

    enum JobOutcome: Sendable {
        case done, interrupted, lostLease
        case failed(String)
    }

    /// The fields every log line about a job carries; `duration` (seconds) once it ended.
    static func metadata(_ job: Job, seconds: Double? = nil) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "job": .stringConvertible(job.id), "kind": .string(job.kind.rawValue), "repo": .string(job.repo),
            "attempt": .stringConvertible(job.attempts + 1),
        ]
        if job.kind == .sync, !job.payload.isEmpty { fields["revision"] = .string(job.payload) }
        if let seconds { fields["duration"] = .stringConvertible(seconds) }
        return fields
    }
}

/// What the workers do with a job; the daemon's implementation runs the mirror.
public protocol JobWork: Sendable {
    func trackedRepos() async throws -> [String]
    func perform(_ job: Job) async throws
}
