import Foundation
import GRDB

/// A job the daemon runs: a sync of a repo, a verification (scrub) of the store, or the
/// quantizations a repo asks for of one synced commit. Kept in `<store>/lineage.sqlite` so
/// that a killed daemon finds every unfinished job on restart.
public struct Job: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case sync, verify, quantize
    }

    public enum State: String, Sendable, CaseIterable {
        case queued, running, done, failed
    }

    public var id: Int64
    public var kind: Kind
    /// The repo a sync is about; empty for a whole-store verify.
    public var repo: String
    /// What else names the job: a sync's revision ("" for the repo's recorded one), a
    /// quantize job's commit.
    public var payload: String
    public var state: State
    public var attempts: Int
    public var maxAttempts: Int
    public var runAfter: Date
    public var leaseOwner: String?
    public var leaseUntil: Date?
    public var lastError: String?
    public var createdAt: Date
    public var finishedAt: Date?
}

/// The queue: enqueue (at most one open job per kind and repo), claim with a lease, renew,
/// finish, fail with bounded retries and exponential backoff, and recover jobs whose owner
/// died. Claims are single UPDATE ... RETURNING statements, so two workers (or two daemons on
/// one store) never take the same job.
public final class SQLiteJobQueue: Sendable {
    private let pool: DatabasePool
    public let lease: Duration
    public let baseBackoff: Duration
    public let maxBackoff: Duration

    public init(storeDirectory: URL, lease: Duration = .seconds(60), baseBackoff: Duration = .seconds(30),
                maxBackoff: Duration = .seconds(3600)) throws {
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: storeDirectory.appendingPathComponent("lineage.sqlite").path, configuration: configuration)
        self.lease = lease
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("daemon v1: jobs") { db in
            try db.execute(sql: """
                CREATE TABLE daemon_job (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('sync', 'verify', 'quantize')),
                    repo TEXT NOT NULL DEFAULT '',
                    payload TEXT NOT NULL DEFAULT '',
                    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    run_after REAL NOT NULL,
                    lease_owner TEXT,
                    lease_until REAL,
                    last_error TEXT,
                    created_at REAL NOT NULL,
                    finished_at REAL
                );
                -- One open job per kind and repo: a second request for the same sync joins the first.
                CREATE UNIQUE INDEX daemon_job_open ON daemon_job(kind, repo, payload) WHERE state IN ('queued', 'running');
                CREATE INDEX daemon_job_due ON daemon_job(state, run_after);
                """)
        }
        return migrator
    }

    /// Adds a job unless the same one is already open; returns the open job's id either way.
    @discardableResult
    public func enqueue(_ kind: Job.Kind, repo: String = "", payload: String = "", maxAttempts: Int = 5,
                        at date: Date = Date()) async throws -> Int64 {
        try await pool.write { db in
            if let open = try Int64.fetchOne(db, sql: """
                SELECT id FROM daemon_job WHERE kind = ? AND repo = ? AND payload = ? AND state IN ('queued', 'running')
                """, arguments: [kind.rawValue, repo, payload]) {
                return open
            }
            try db.execute(sql: """
                INSERT INTO daemon_job (kind, repo, payload, state, max_attempts, run_after, created_at)
                VALUES (?, ?, ?, 'queued', ?, ?, ?)
                """, arguments: [kind.rawValue, repo, payload, maxAttempts, date.timeIntervalSince1970, Date().timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    /// Takes the next due job (queued and due, or running with an expired lease) for `owner`.
    public func claim(owner: String, now: Date = Date()) async throws -> Job? {
        let leaseEnd = now.addingTimeInterval(Self.seconds(lease)).timeIntervalSince1970
        return try await pool.write { db in
            try Row.fetchOne(db, sql: """
                UPDATE daemon_job SET state = 'running', lease_owner = ?, lease_until = ?
                WHERE id = (
                    SELECT id FROM daemon_job
                    WHERE (state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)
                    ORDER BY run_after, id LIMIT 1)
                RETURNING *
                """, arguments: [owner, leaseEnd, now.timeIntervalSince1970, now.timeIntervalSince1970]).map(Self.job)
        }
    }

    /// Extends the lease of a job `owner` still holds; false when it lost it.
    public func renew(_ id: Int64, owner: String, now: Date = Date()) async throws -> Bool {
        let leaseEnd = now.addingTimeInterval(Self.seconds(lease)).timeIntervalSince1970
        return try await pool.write { db in
            try db.execute(sql: "UPDATE daemon_job SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                           arguments: [leaseEnd, id, owner])
            return db.changesCount == 1
        }
    }

    public func finish(_ id: Int64, owner: String) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE daemon_job SET state = 'done', lease_owner = NULL, lease_until = NULL, finished_at = ?, last_error = NULL
                WHERE id = ? AND lease_owner = ?
                """, arguments: [Date().timeIntervalSince1970, id, owner])
        }
    }

    /// Counts an attempt: the job goes back to the queue after a backoff, or fails for good
    /// after its last attempt. Returns the job's new state.
    @discardableResult
    public func fail(_ id: Int64, owner: String, error: String, now: Date = Date()) async throws -> Job.State {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT attempts, max_attempts FROM daemon_job WHERE id = ? AND lease_owner = ?",
                                             arguments: [id, owner]) else { return .failed }
            let attempts: Int = row[0] + 1
            let maxAttempts: Int = row[1]
            if attempts >= maxAttempts {
                try db.execute(sql: """
                    UPDATE daemon_job SET state = 'failed', attempts = ?, last_error = ?, lease_owner = NULL, lease_until = NULL,
                    finished_at = ? WHERE id = ?
                    """, arguments: [attempts, error, now.timeIntervalSince1970, id])
                return .failed
            }
            let delay = min(Self.seconds(self.baseBackoff) * pow(2, Double(attempts - 1)), Self.seconds(self.maxBackoff))
            try db.execute(sql: """
                UPDATE daemon_job SET state = 'queued', attempts = ?, last_error = ?, lease_owner = NULL, lease_until = NULL,
                run_after = ? WHERE id = ?
                """, arguments: [attempts, error, now.addingTimeInterval(delay).timeIntervalSince1970, id])
            return .queued
        }
    }

    /// Gives a job back without counting an attempt (the daemon is stopping mid-job).
    public func release(_ id: Int64, owner: String) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE daemon_job SET state = 'queued', lease_owner = NULL, lease_until = NULL
                WHERE id = ? AND state = 'running' AND lease_owner = ?
                """, arguments: [id, owner])
        }
    }

    /// Requeues running jobs whose owner is not alive (a daemon killed with -9 on this
    /// host), so a restart resumes them at once instead of waiting out their leases. Jobs of
    /// other hosts are left to their leases.
    @discardableResult
    public func recover(host: String, isAlive: @escaping @Sendable (Int32) -> Bool) async throws -> [Job] {
        try await pool.write { db in
            let running = try Row.fetchAll(db, sql: "SELECT * FROM daemon_job WHERE state = 'running'").map(Self.job)
            var recovered: [Job] = []
            for job in running {
                guard let owner = job.leaseOwner.flatMap(JobOwner.init(parsing:)), owner.host == host, !isAlive(owner.pid) else { continue }
                try db.execute(sql: "UPDATE daemon_job SET state = 'queued', lease_owner = NULL, lease_until = NULL WHERE id = ?",
                               arguments: [job.id])
                recovered.append(job)
            }
            return recovered
        }
    }

    public func jobs(states: [Job.State]? = nil) async throws -> [Job] {
        try await pool.read { db in
            let all = try Row.fetchAll(db, sql: "SELECT * FROM daemon_job ORDER BY id").map(Self.job)
            guard let states else { return all }
            return all.filter { states.contains($0.state) }
        }
    }

    public func counts() async throws -> [(String, Int)] {
        try await pool.read { db in
            var counts = Dictionary(uniqueKeysWithValues: Job.State.allCases.map { ($0.rawValue, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM daemon_job GROUP BY state") {
                counts[row[0]] = row[1]
            }
            return Job.State.allCases.map { ($0.rawValue, counts[$0.rawValue] ?? 0) }
        }
    }

    /// When the last sync of `repo` finished well, if ever.
    public func lastSuccess(_ kind: Job.Kind, repo: String, payload: String = "") async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MAX(finished_at) FROM daemon_job WHERE kind = ? AND repo = ? AND payload = ? AND state = 'done'",
                                arguments: [kind.rawValue, repo, payload]).map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Whether `repo` has an open job of `kind` (with that payload: a sync's revision).
    public func hasOpen(_ kind: Job.Kind, repo: String, payload: String = "") async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM daemon_job WHERE kind = ? AND repo = ? AND payload = ? AND state IN ('queued', 'running'))
                """, arguments: [kind.rawValue, repo, payload]) ?? false
        }
    }

    private static func job(_ row: Row) -> Job {
        Job(id: row["id"], kind: Job.Kind(rawValue: row["kind"]) ?? .sync, repo: row["repo"], payload: row["payload"],
            state: Job.State(rawValue: row["state"]) ?? .queued, attempts: row["attempts"], maxAttempts: row["max_attempts"],
            runAfter: Date(timeIntervalSince1970: row["run_after"]), leaseOwner: row["lease_owner"],
            leaseUntil: (row["lease_until"] as Double?).map { Date(timeIntervalSince1970: $0) }, lastError: row["last_error"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            finishedAt: (row["finished_at"] as Double?).map { Date(timeIntervalSince1970: $0) })
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Who holds a lease: `host/pid/worker`.
public struct JobOwner: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var worker: Int

    public init(host: String, pid: Int32, worker: Int) {
        self.host = host
        self.pid = pid
        self.worker = worker
    }

    init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 3, let pid = Int32(parts[1]), let worker = Int(parts[2]) else { return nil }
        self.init(host: String(parts[0]), pid: pid, worker: worker)
    }

    public var description: String { "\(host)/\(pid)/\(worker)" }
}
