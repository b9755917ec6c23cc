import Foundation
import GRDB

/// The mirror's tables in `<store>/lineage.sqlite`, beside the lineage graph (one file to back
/// up; WAL lets a sync write while `ls` reads). Migrations are the mirror's own, registered
/// under "mirror v…" identifiers in GRDB's shared migrations table.
public final class SQLiteMirrorMetadata: MirrorMetadataStore {
    private let pool: DatabasePool
    public let path: String

    public init(storeDirectory: URL) throws {
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        path = storeDirectory.appendingPathComponent("lineage.sqlite").path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("mirror v1: repos, revisions, files, blobs, quarantine") { db in
            try db.execute(sql: """
                CREATE TABLE mirror_repo (
                    id TEXT PRIMARY KEY NOT NULL,          -- org/name
                    source TEXT NOT NULL CHECK (source IN ('git', 'hub')),
                    url TEXT,
                    upstream_id TEXT NOT NULL,
                    revision TEXT,
                    include TEXT NOT NULL,                 -- JSON array of globs
                    exclude TEXT NOT NULL,
                    added_at REAL NOT NULL
                );
                CREATE TABLE mirror_blob (
                    sha256 TEXT PRIMARY KEY NOT NULL,
                    size INTEGER NOT NULL,
                    git_oid TEXT,                          -- the blob's git sha1 when computed
                    refs INTEGER NOT NULL DEFAULT 0 CHECK (refs >= 0),
                    verified_at REAL,
                    state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'rotten'))
                );
                CREATE INDEX mirror_blob_git ON mirror_blob(git_oid);
                CREATE TABLE mirror_revision (
                    repo_id TEXT NOT NULL REFERENCES mirror_repo(id) ON DELETE CASCADE,
                    commit_id TEXT NOT NULL,
                    synced_at REAL NOT NULL,
                    PRIMARY KEY (repo_id, commit_id)
                ) WITHOUT ROWID;
                CREATE TABLE mirror_ref (
                    repo_id TEXT NOT NULL REFERENCES mirror_repo(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    commit_id TEXT NOT NULL,
                    PRIMARY KEY (repo_id, name),
                    FOREIGN KEY (repo_id, commit_id) REFERENCES mirror_revision(repo_id, commit_id)
                ) WITHOUT ROWID;
                CREATE TABLE mirror_file (
                    repo_id TEXT NOT NULL,
                    commit_id TEXT NOT NULL,
                    path TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    git_oid TEXT,
                    lfs_oid TEXT,
                    blob TEXT NOT NULL REFERENCES mirror_blob(sha256),
                    PRIMARY KEY (repo_id, commit_id, path),
                    FOREIGN KEY (repo_id, commit_id) REFERENCES mirror_revision(repo_id, commit_id) ON DELETE CASCADE
                ) WITHOUT ROWID;
                CREATE INDEX mirror_file_blob ON mirror_file(blob);
                -- Reference counts follow the files in the same transaction, whoever deletes them
                -- (a cascade from a removed repo included).
                CREATE TRIGGER mirror_file_ref AFTER INSERT ON mirror_file BEGIN
                    UPDATE mirror_blob SET refs = refs + 1 WHERE sha256 = NEW.blob;
                END;
                CREATE TRIGGER mirror_file_unref AFTER DELETE ON mirror_file BEGIN
                    UPDATE mirror_blob SET refs = refs - 1 WHERE sha256 = OLD.blob;
                END;
                CREATE TABLE mirror_quarantine (
                    id INTEGER PRIMARY KEY,
                    repo_id TEXT,
                    path TEXT,
                    commit_id TEXT,
                    expected TEXT NOT NULL,
                    actual TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    location TEXT NOT NULL,
                    at REAL NOT NULL
                );
                """)
        }
        // Quantize on ingest: the presets a repo asks for, repos derived from others (org/name-GGUF),
        // and the artifacts made. SQLite cannot alter a CHECK, so mirror_repo is rebuilt; GRDB
        // runs migrations with foreign keys off and checks them afterwards.
        migrator.registerMigration("mirror v2: quantize presets, derived repos, artifacts") { db in
            try db.execute(sql: """
                CREATE TABLE mirror_repo_v2 (
                    id TEXT PRIMARY KEY NOT NULL,
                    source TEXT NOT NULL CHECK (source IN ('git', 'hub', 'derived')),
                    url TEXT,
                    upstream_id TEXT NOT NULL,
                    revision TEXT,
                    include TEXT NOT NULL,
                    exclude TEXT NOT NULL,
                    quantize TEXT NOT NULL DEFAULT '[]',   -- JSON array of preset names
                    derived_from TEXT,                     -- the source repo of a derived one
                    added_at REAL NOT NULL
                );
                INSERT INTO mirror_repo_v2 (id, source, url, upstream_id, revision, include, exclude, added_at)
                    SELECT id, source, url, upstream_id, revision, include, exclude, added_at FROM mirror_repo;
                DROP TABLE mirror_repo;
                ALTER TABLE mirror_repo_v2 RENAME TO mirror_repo;
                CREATE TABLE mirror_artifact (
                    key TEXT PRIMARY KEY NOT NULL,          -- sha256 of inputs + recipe + producer
                    source_repo TEXT NOT NULL,
                    source_commit TEXT NOT NULL,
                    inputs TEXT NOT NULL,                   -- JSON array of input blob digests
                    recipe TEXT NOT NULL,
                    producer TEXT NOT NULL,
                    output TEXT NOT NULL,                   -- a blob; gc may drop it, the record then only says what was made
                    size INTEGER NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE INDEX mirror_artifact_source ON mirror_artifact(source_repo);
                """)
        }
        return migrator
    }

    // MARK: Repos

    public func upsertRepo(_ repo: MirrorRepo) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO mirror_repo (id, source, url, upstream_id, revision, include, exclude, quantize, derived_from, added_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET source = excluded.source, url = excluded.url,
                    upstream_id = excluded.upstream_id, revision = excluded.revision,
                    include = excluded.include, exclude = excluded.exclude, quantize = excluded.quantize,
                    derived_from = excluded.derived_from
                """, arguments: [repo.id, repo.source.rawValue, repo.url, repo.upstreamID, repo.revision,
                                 Self.json(repo.include), Self.json(repo.exclude), Self.json(repo.quantize), repo.derivedFrom,
                                 repo.addedAt.timeIntervalSince1970])
        }
    }

    public func repo(_ id: String) async throws -> MirrorRepo? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mirror_repo WHERE id = ?", arguments: [id]).map(Self.repo)
        }
    }

    public func repos() async throws -> [MirrorRepo] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM mirror_repo ORDER BY id").map(Self.repo) }
    }

    public func removeRepo(_ id: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM mirror_ref WHERE repo_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM mirror_file WHERE repo_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM mirror_revision WHERE repo_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM mirror_repo WHERE id = ?", arguments: [id])
        }
    }

    private static func repo(_ row: Row) -> MirrorRepo {
        MirrorRepo(id: row["id"], source: SourceKind(rawValue: row["source"]) ?? .git, url: row["url"],
                   upstreamID: row["upstream_id"], revision: row["revision"],
                   include: strings(row["include"]), exclude: strings(row["exclude"]),
                   quantize: strings(row["quantize"]), derivedFrom: row["derived_from"],
                   addedAt: Date(timeIntervalSince1970: row["added_at"]))
    }

    // MARK: Blobs

    public func blob(_ digest: SHA256Digest) async throws -> BlobRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mirror_blob WHERE sha256 = ?", arguments: [digest.hex]).flatMap(Self.blob)
        }
    }

    public func blob(gitOID oid: String) async throws -> BlobRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mirror_blob WHERE git_oid = ? AND state = 'ok' LIMIT 1", arguments: [oid])
                .flatMap(Self.blob)
        }
    }

    public func recordBlob(_ digest: SHA256Digest, size: Int64, gitOID: String?) async throws {
        let now = Date().timeIntervalSince1970
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO mirror_blob (sha256, size, git_oid, verified_at, state) VALUES (?, ?, ?, ?, 'ok')
                ON CONFLICT(sha256) DO UPDATE SET state = 'ok', verified_at = excluded.verified_at,
                    git_oid = COALESCE(excluded.git_oid, mirror_blob.git_oid)
                """, arguments: [digest.hex, size, gitOID, now])
        }
    }

    public func markVerified(_ digests: [SHA256Digest], at date: Date) async throws {
        try await pool.write { db in
            let statement = try db.cachedStatement(sql: "UPDATE mirror_blob SET verified_at = ? WHERE sha256 = ?")
            for digest in digests { try statement.execute(arguments: [date.timeIntervalSince1970, digest.hex]) }
        }
    }

    public func markRotten(_ digest: SHA256Digest) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE mirror_blob SET state = 'rotten' WHERE sha256 = ?", arguments: [digest.hex])
        }
    }

    public func blobs() async throws -> [BlobRecord] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM mirror_blob ORDER BY sha256").compactMap(Self.blob) }
    }

    public func deleteBlobRecord(_ digest: SHA256Digest) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM mirror_blob WHERE sha256 = ? AND refs = 0", arguments: [digest.hex])
        }
    }

    private static func blob(_ row: Row) -> BlobRecord? {
        guard let digest = SHA256Digest(hex: row["sha256"] as String) else { return nil }
        let verified: Double? = row["verified_at"]
        return BlobRecord(digest: digest, size: row["size"], gitOID: row["git_oid"], references: row["refs"],
                          verifiedAt: verified.map(Date.init(timeIntervalSince1970:)),
                          state: BlobState(rawValue: row["state"]) ?? .ok)
    }

    // MARK: Revisions

    public func publish(repo: String, commit: String, ref: String, files: [MirroredFile]) async throws {
        let now = Date().timeIntervalSince1970
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO mirror_revision (repo_id, commit_id, synced_at) VALUES (?, ?, ?)
                ON CONFLICT(repo_id, commit_id) DO UPDATE SET synced_at = excluded.synced_at
                """, arguments: [repo, commit, now])
            // A commit published again (after the scrub found rot) gets its file list anew.
            try db.execute(sql: "DELETE FROM mirror_file WHERE repo_id = ? AND commit_id = ?", arguments: [repo, commit])
            let insert = try db.cachedStatement(sql: """
                INSERT INTO mirror_file (repo_id, commit_id, path, size, git_oid, lfs_oid, blob) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for file in files {
                try insert.execute(arguments: [repo, commit, file.path, file.size, file.gitOID, file.lfsOID?.hex, file.blob.hex])
            }
            try db.execute(sql: """
                INSERT INTO mirror_ref (repo_id, name, commit_id) VALUES (?, ?, ?)
                ON CONFLICT(repo_id, name) DO UPDATE SET commit_id = excluded.commit_id
                """, arguments: [repo, ref, commit])
        }
    }

    public func revisions(of repo: String) async throws -> [MirroredRevision] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.repo_id, r.commit_id, r.synced_at, COUNT(f.path) AS files, COALESCE(SUM(f.size), 0) AS bytes
                FROM mirror_revision r LEFT JOIN mirror_file f ON f.repo_id = r.repo_id AND f.commit_id = r.commit_id
                WHERE r.repo_id = ? GROUP BY r.repo_id, r.commit_id ORDER BY r.synced_at DESC
                """, arguments: [repo]).map { row in
                MirroredRevision(repo: row[0], commit: row[1], syncedAt: Date(timeIntervalSince1970: row[2]),
                                 fileCount: row[3], totalBytes: row[4])
            }
        }
    }

    public func files(of repo: String, commit: String) async throws -> [MirroredFile] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM mirror_file WHERE repo_id = ? AND commit_id = ? ORDER BY path",
                             arguments: [repo, commit]).compactMap { row in
                guard let blob = SHA256Digest(hex: row["blob"] as String) else { return nil }
                let lfs: String? = row["lfs_oid"]
                return MirroredFile(path: row["path"], size: row["size"], gitOID: row["git_oid"],
                                    lfsOID: lfs.flatMap { SHA256Digest(hex: $0) }, blob: blob)
            }
        }
    }

    public func refs(of repo: String) async throws -> [String: String] {
        try await pool.read { db in
            var refs: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, commit_id FROM mirror_ref WHERE repo_id = ?", arguments: [repo]) {
                refs[row[0]] = row[1]
            }
            return refs
        }
    }

    public func revisions(containing digest: SHA256Digest) async throws -> [(repo: String, commit: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT repo_id, commit_id FROM mirror_file WHERE blob = ?", arguments: [digest.hex])
                .map { (repo: $0[0], commit: $0[1]) }
        }
    }

    public func pruneUnreferencedRevisions() async throws -> [(repo: String, commit: String)] {
        try await pool.write { db in
            let stale = try Row.fetchAll(db, sql: """
                SELECT repo_id, commit_id FROM mirror_revision r WHERE NOT EXISTS (
                    SELECT 1 FROM mirror_ref x WHERE x.repo_id = r.repo_id AND x.commit_id = r.commit_id)
                """).map { (repo: $0[0] as String, commit: $0[1] as String) }
            for revision in stale {
                try db.execute(sql: "DELETE FROM mirror_file WHERE repo_id = ? AND commit_id = ?", arguments: [revision.repo, revision.commit])
                try db.execute(sql: "DELETE FROM mirror_revision WHERE repo_id = ? AND commit_id = ?", arguments: [revision.repo, revision.commit])
            }
            return stale
        }
    }

    // MARK: Quarantine

    public func recordQuarantine(_ record: QuarantineRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO mirror_quarantine (repo_id, path, commit_id, expected, actual, size, reason, location, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.repo, record.path, record.commit, record.expected, record.actual, record.size,
                                 record.reason, record.location, record.at.timeIntervalSince1970])
        }
    }

    public func quarantineRecords() async throws -> [QuarantineRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM mirror_quarantine ORDER BY id").map { row in
                QuarantineRecord(repo: row["repo_id"], path: row["path"], commit: row["commit_id"], expected: row["expected"],
                                 actual: row["actual"], size: row["size"], reason: row["reason"], location: row["location"],
                                 at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    // MARK: Artifacts

    public func artifact(key: SHA256Digest) async throws -> DerivedArtifact? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mirror_artifact WHERE key = ?", arguments: [key.hex]).flatMap(Self.artifact)
        }
    }

    public func recordArtifact(_ artifact: DerivedArtifact) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO mirror_artifact (key, source_repo, source_commit, inputs, recipe, producer, output, size, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET output = excluded.output, size = excluded.size, created_at = excluded.created_at
                """, arguments: [artifact.key.hex, artifact.sourceRepo, artifact.sourceCommit, Self.json(artifact.inputs.map(\.hex)),
                                 artifact.recipe, artifact.producer, artifact.output.hex, artifact.size,
                                 artifact.createdAt.timeIntervalSince1970])
        }
    }

    public func artifacts(from repo: String) async throws -> [DerivedArtifact] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM mirror_artifact WHERE source_repo = ? ORDER BY created_at DESC, recipe",
                             arguments: [repo]).compactMap(Self.artifact)
        }
    }

    private static func artifact(_ row: Row) -> DerivedArtifact? {
        guard let key = SHA256Digest(hex: row["key"] as String), let output = SHA256Digest(hex: row["output"] as String) else { return nil }
        return DerivedArtifact(key: key, sourceRepo: row["source_repo"], sourceCommit: row["source_commit"],
                               inputs: strings(row["inputs"]).compactMap { SHA256Digest(hex: $0) }, recipe: row["recipe"],
                               producer: row["producer"], output: output, size: row["size"],
                               createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    // MARK: JSON columns

    private static func json(_ strings: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(strings)) ?? Data("[]".utf8), as: UTF8.self)
    }

    private static func strings(_ text: String?) -> [String] {
        guard let text else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}
