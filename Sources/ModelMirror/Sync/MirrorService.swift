import AsyncHTTPClient
import Foundation
import LineageImport
import LineageStore
import Logging
import WeightFormats
#if canImport(Glibc)
import Glibc
#endif

/// Settings that come from the command line and the environment.
public struct MirrorSettings: Sendable {
    /// The Hub endpoint: --endpoint, else HF_ENDPOINT, else https://huggingface.co.
    public var hubEndpoint: String
    /// HF_TOKEN: sent to the Hub (and to LFS endpoints on its host); never logged.
    public var token: String?
    public var retry: RetryPolicy
    /// Files transferred at once.
    public var concurrency: Int
    /// --endpoint was given: it wins over the endpoint a repo recorded at `add`.
    public var endpointIsExplicit = false

    public init(hubEndpoint: String, token: String?, retry: RetryPolicy = RetryPolicy(), concurrency: Int = 4) {
        var endpoint = hubEndpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.hubEndpoint = endpoint
        self.token = token
        self.retry = retry
        self.concurrency = max(1, concurrency)
    }

    public static func fromEnvironment(
        endpoint: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> MirrorSettings {
        let hub = endpoint ?? environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        let token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var settings = MirrorSettings(hubEndpoint: hub, token: token)
        settings.endpointIsExplicit = endpoint != nil
        return settings
    }
}

/// The token never shows when the settings are printed or reflected (service-lifecycle logs
/// its services' descriptions at debug level, and the daemon's services hold these settings).
extension MirrorSettings: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "MirrorSettings(hubEndpoint: \(hubEndpoint), token: \(token == nil ? "none" : "<redacted>"), concurrency: \(concurrency))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["hubEndpoint": hubEndpoint, "token": token == nil ? "none" : "<redacted>", "retry": retry,
                                "concurrency": concurrency, "endpointIsExplicit": endpointIsExplicit])
    }
}

public struct MirrorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The mirror: tracks repos, syncs them into the verified store, lays out the Hugging Face
/// cache view and feeds each mirrored commit to the lineage importers.
public struct MirrorService: Sendable {
    public let root: URL
    public let blobs: LocalBlobStore
    public let metadata: any MirrorMetadataStore
    let cacheView: HubCacheView
    public let lineage: LineageStore?
    let client: HTTPClient
    public let settings: MirrorSettings
    let logger: Logger
    let events: AsyncStream<MirrorEvent>.Continuation?

    public init(
        root: URL, metadata: any MirrorMetadataStore, lineage: LineageStore?, client: HTTPClient,
        settings: MirrorSettings, logger: Logger, events: AsyncStream<MirrorEvent>.Continuation? = nil
    ) throws {
        self.root = root
        blobs = try LocalBlobStore(root: root)
        self.metadata = metadata
        cacheView = HubCacheView(root: root.appendingPathComponent("hub"))
        self.lineage = lineage
        self.client = client
        self.settings = settings
        self.logger = logger
        self.events = events
    }

    func emit(_ event: MirrorEvent) { events?.yield(event) }

    // MARK: Tracking

    /// Adds (or updates) a tracked repo. `reference` is a Hub id for `.hub`, a git URL or
    /// local path for `.git`; the git source is chosen when it looks like a URL or path.
    public func add(
        _ reference: String, source explicitSource: SourceKind?, as explicitID: String?, revision: String?,
        include: [String], exclude: [String], quantize: [String] = []
    ) async throws -> MirrorRepo {
        let looksLikeGit = reference.contains("://") || reference.hasPrefix("/") || reference.hasPrefix(".")
            || reference.hasPrefix("git@") || reference.hasSuffix(".git")
        let source = explicitSource ?? (looksLikeGit ? .git : .hub)
        if source == .derived {
            throw MirrorError("derived repos are made by lineage itself (quantize on ingest); add their source with --quantize instead")
        }
        let id: String
        var url: String?
        let upstreamID: String
        switch source {
        case .git:
            var gitURL = reference
            if !reference.contains("://") && !reference.contains("@") {
                // A local path: made absolute so that a later sync from elsewhere still finds it.
                gitURL = URL(fileURLWithPath: reference).standardizedFileURL.path
            }
            url = gitURL
            guard let derived = explicitID ?? RepoID.defaultID(forGitURL: gitURL) else {
                throw MirrorError("cannot derive ORG/NAME from \(TransferError.redact(gitURL)); pass --as ORG/NAME")
            }
            id = try RepoID.validate(derived)
            upstreamID = id
        case .hub, .derived:
            upstreamID = try RepoID.validate(reference)
            id = try RepoID.validate(explicitID ?? reference)
        }
        let existing = try await metadata.repo(id)
        if let existing, existing.source == .derived {
            throw MirrorError("\(id) is made here from \(existing.derivedFrom ?? "another repo") (quantize on ingest); choose another id")
        }
        let repo = MirrorRepo(id: id, source: source, url: url, upstreamID: upstreamID, revision: revision,
                              include: include, exclude: exclude, quantize: quantize, addedAt: existing?.addedAt ?? Date())
        try await metadata.upsertRepo(repo)
        return repo
    }

    /// Stops tracking a repo: its records, git mirror and cache view go; the blobs stay for
    /// `gc` (other repos may share them).
    public func remove(_ id: String) async throws {
        guard let repo = try await metadata.repo(id) else {
            throw MirrorError("no tracked repo '\(id)'; `lineage mirror ls` lists them")
        }
        let lock = try StoreLock(root: root, exclusive: false)
        defer { lock.release() }
        try await metadata.removeRepo(repo.id)
        cacheView.removeRepo(repo.id)
        try? FileManager.default.removeItem(at: gitMirrorPath(repo.id))
    }

    func gitMirrorPath(_ id: String) -> URL {
        root.appendingPathComponent("git/\(id).git")
    }

    // MARK: Sync

    /// Syncs one repo: resolve, list, fetch what is missing (verified as it streams), and
    /// publish the commit only when every file verified. `revision` syncs that branch, tag or
    /// commit instead of the one the repo records (the daemon keeps several per repo); each
    /// is published under its own ref, so every one stays referenced.
    public func sync(_ id: String, revision: String? = nil) async -> SyncReport {
        var report = SyncReport(repo: id)
        do {
            guard var repo = try await metadata.repo(id) else {
                report.error = "no tracked repo '\(id)'; add it with `lineage mirror add`"
                return report
            }
            if let revision { repo.revision = revision }
            let lock = try StoreLock(root: root, exclusive: false)
            defer { lock.release() }
            try await sync(repo, into: &report)
        } catch {
            report.error = "\(error)"
        }
        return report
    }

    private func source(for repo: MirrorRepo) throws -> any UpstreamSource {
        switch repo.source {
        case .derived:
            throw MirrorError("\(repo.id) is made here from \(repo.derivedFrom ?? "another repo") (quantize on ingest), not synced; sync \(repo.derivedFrom ?? "its source") instead")
        case .git:
            return GitSource(repo: repo, mirrorPath: gitMirrorPath(repo.id), client: client, retry: settings.retry,
                             logger: logger, hubToken: settings.token, hubHost: HTTPDownloader.host(of: settings.hubEndpoint))
        case .hub:
            let endpoint = settings.endpointIsExplicit ? settings.hubEndpoint : repo.url ?? settings.hubEndpoint
            return HubSource(repo: repo, endpoint: endpoint, token: settings.token, client: client,
                             retry: settings.retry, logger: logger)
        }
    }

    private func sync(_ repo: MirrorRepo, into report: inout SyncReport) async throws {
        emit(.resolving(repo: repo.id))
        let upstream = try source(for: repo)
        let snapshot = try await upstream.snapshot()
        report.commit = snapshot.commit
        report.ref = snapshot.ref
        report.skipped = snapshot.skipped
        for refused in snapshot.refused {
            report.failures.append((refused.path, "refused: \(refused.reason)"))
        }
        let filter = PathFilter(include: repo.include, exclude: repo.exclude)
        let files = snapshot.files.filter { filter.admits($0.path.string) }
        report.files = files.count
        report.totalBytes = files.reduce(0) { $0 + $1.size }

        // What the store already has: an LFS object by its oid, a small file by its git id.
        var mirrored: [RepoPath: MirroredFile] = [:]
        var missing: [UpstreamFile] = []
        for file in files {
            if let blob = try await storedBlob(for: file) {
                if let mismatch = sizeMismatch(file, blob) {
                    report.failures.append((file.path.string, mismatch))
                    continue
                }
                mirrored[file.path] = MirroredFile(path: file.path.string, size: file.size, gitOID: file.treeOID?.hex,
                                                   lfsOID: file.lfs?.oid, blob: blob)
            } else {
                missing.append(file)
            }
        }
        report.reused = mirrored.count
        emit(.resolved(repo: repo.id, commit: snapshot.commit, files: files.count, bytes: report.totalBytes,
                       toFetch: missing.count, bytesToFetch: missing.reduce(0) { $0 + $1.size }))

        let unprepared = await upstream.prepare(missing, ref: snapshot.ref)
        for (path, message) in unprepared.sorted(by: { $0.key < $1.key }) {
            report.failures.append((path.string, message))
            emit(.fileFinished(repo: repo.id, path: path.string, failure: message))
        }
        let fetchable = missing.filter { unprepared[$0.path] == nil }

        // Files that share one object (the same LFS oid or git blob under two paths) are one
        // transfer: they run in order within a group, so the later ones find it stored.
        var groups: [StagingKey: [UpstreamFile]] = [:]
        var order: [StagingKey] = []
        for file in fetchable {
            if groups[file.stagingKey] == nil { order.append(file.stagingKey) }
            groups[file.stagingKey, default: []].append(file)
        }
        let outcomes = await withTaskGroup(of: [(UpstreamFile, FileResult)].self) { group in
            var results: [(UpstreamFile, FileResult)] = []
            var iterator = order.makeIterator()
            func startNext() -> Bool {
                guard let key = iterator.next(), let members = groups[key] else { return false }
                group.addTask {
                    var results: [(UpstreamFile, FileResult)] = []
                    for file in members { results.append((file, await self.fetchOrReuse(file, of: repo, commit: snapshot.commit, from: upstream))) }
                    return results
                }
                return true
            }
            for _ in 0..<settings.concurrency where !startNext() { break }
            while let result = await group.next() {
                results += result
                _ = startNext()
            }
            return results
        }
        for (file, result) in outcomes.sorted(by: { $0.0.path < $1.0.path }) {
            report.bytesTransferred += result.transferred
            switch result.outcome {
            case .success(let blob):
                report.fetched += 1
                mirrored[file.path] = MirroredFile(path: file.path.string, size: file.size, gitOID: file.treeOID?.hex,
                                                   lfsOID: file.lfs?.oid, blob: blob)
            case .failure(let message):
                report.failures.append((file.path.string, message))
            }
        }
        guard report.failures.isEmpty else { return }

        let published = files.compactMap { mirrored[$0.path] }
        try await metadata.publish(repo: repo.id, commit: snapshot.commit, ref: snapshot.ref, files: published)
        try cacheView.materialize(repoID: repo.id, commit: snapshot.commit, ref: snapshot.ref, files: published, store: blobs)
        report.published = true
        emit(.published(repo: repo.id, commit: snapshot.commit))
        ingestLineage(repo: repo, commit: snapshot.commit, into: &report)
    }

    /// The cache-view folder of a published commit: symlinks to hard links of the store's own
    /// blobs, so whatever reads it reads the verified bytes (the quantizer's input).
    public func snapshotDirectory(_ repoID: String, commit: String) -> URL {
        cacheView.snapshotDirectory(repoID, commit: commit)
    }

    /// Runs `body` holding the store as a sync does, so `gc` cannot delete blobs it stored and
    /// has not published yet.
    public func holdingStore<T>(_ body: () async throws -> T) async throws -> T {
        let lock = try StoreLock(root: root, exclusive: false)
        defer { lock.release() }
        return try await body()
    }

    /// Publishes a commit of a repo this store made (`org/name-GGUF`) from blobs already
    /// committed and recorded: the repo record, the commit and its ref in one transaction, then
    /// the cache view, as a sync publishes a mirrored one.
    public func publishDerived(_ repo: MirrorRepo, commit: String, ref: String, files: [MirroredFile]) async throws {
        precondition(repo.source == .derived, "publishDerived is for repos made here")
        let lock = try StoreLock(root: root, exclusive: false)
        defer { lock.release() }
        try await metadata.upsertRepo(repo)
        try await metadata.publish(repo: repo.id, commit: commit, ref: ref, files: files)
        try cacheView.materialize(repoID: repo.id, commit: commit, ref: ref, files: files, store: blobs)
    }

    /// The blob already stored for `file`, if any (and not found rotten by a scrub).
    private func storedBlob(for file: UpstreamFile) async throws -> SHA256Digest? {
        if let oid = file.lfs?.oid {
            guard blobs.has(oid) else { return nil }
            guard let record = try await metadata.blob(oid) else {
                // In the store but not in the metadata: a sync stopped (SIGTERM, kill -9) between
                // the blob's rename and its record. The store holds only verified bytes under
                // their digest, so the record is written now, before publish refers to it.
                try await metadata.recordBlob(oid, size: file.size, gitOID: nil)
                return oid
            }
            if record.state == .rotten { return nil }
            return oid
        }
        guard let oid = file.treeOID, let record = try await metadata.blob(gitOID: oid.hex), blobs.has(record.digest) else {
            return nil
        }
        return record.digest
    }

    enum FileOutcome: Sendable {
        case success(SHA256Digest)
        case failure(String)
    }

    struct FileResult: Sendable {
        var outcome: FileOutcome
        var transferred: Int64
    }

    /// A stored object reused for `file` must have the size the tree (or pointer) gives.
    private func sizeMismatch(_ file: UpstreamFile, _ blob: SHA256Digest) -> String? {
        let size = (try? FileManager.default.attributesOfItem(atPath: blobs.path(of: blob).path)[.size] as? Int64) ?? -1
        guard size != file.size else { return nil }
        return "upstream sent wrong bytes: expected \(file.expectation.expectedDescription) (\(file.size) bytes), got sha256:\(blob.hex) (\(size) bytes)"
    }

    /// A file whose object an earlier file of the same group stored: checked against this
    /// file's own size (a pointer may lie about it), else fetched.
    private func fetchOrReuse(_ file: UpstreamFile, of repo: MirrorRepo, commit: String, from upstream: any UpstreamSource) async -> FileResult {
        if let blob = try? await storedBlob(for: file) {
            guard let message = sizeMismatch(file, blob) else { return FileResult(outcome: .success(blob), transferred: 0) }
            emit(.fileFinished(repo: repo.id, path: file.path.string, failure: message))
            return FileResult(outcome: .failure(message), transferred: 0)
        }
        return await fetch(file, of: repo, commit: commit, from: upstream)
    }

    /// Fetches one file into staging and commits it if, and only if, it verifies.
    private func fetch(_ file: UpstreamFile, of repo: MirrorRepo, commit: String, from upstream: any UpstreamSource) async -> FileResult {
        let path = file.path.string
        let counter = ByteCounter()
        func fail(_ message: String) -> FileResult {
            emit(.fileFinished(repo: repo.id, path: path, failure: message))
            return FileResult(outcome: .failure(message), transferred: counter.value)
        }
        let transfer: StagedTransfer
        do {
            transfer = try blobs.stage(file.stagingKey, gitSize: file.gitSize)
        } catch {
            return fail("\(error)")
        }
        emit(.fileStarted(repo: repo.id, path: path, size: file.size, resumedFrom: transfer.offset))
        let events = self.events
        let reporter = FetchReporter(
            progress: { bytes in
                counter.add(bytes)
                events?.yield(.fileProgress(repo: repo.id, path: path, bytes: bytes))
            },
            retry: { attempt, reason, delay in
                events?.yield(.fileRetry(repo: repo.id, path: path, attempt: attempt, reason: reason, delay: delay))
            })
        do {
            try await upstream.fetch(file, commit: commit, into: transfer, reporter: reporter)
            let committed = try blobs.commit(transfer, expecting: file.expectation) { staged in
                if file.path.fileName.lowercased().hasSuffix(".safetensors") { try Self.checkSafetensors(staged, path: path) }
            }
            try await metadata.recordBlob(committed.digest, size: committed.size,
                                          gitOID: committed.gitOID?.hex ?? (file.lfs == nil ? file.treeOID?.hex : nil))
            emit(.fileFinished(repo: repo.id, path: path, failure: nil))
            return FileResult(outcome: .success(committed.digest), transferred: counter.value)
        } catch let BlobStoreError.verificationFailed(failure) {
            try? await metadata.recordQuarantine(QuarantineRecord(
                repo: repo.id, path: path, commit: commit, expected: failure.expected, actual: failure.actual,
                size: failure.actualSize, reason: "digest mismatch", location: failure.quarantinedAt))
            return fail("upstream sent wrong bytes: \(failure)")
        } catch let BlobStoreError.refused(reason, location) {
            let digest = file.expectation.expectedDescription
            try? await metadata.recordQuarantine(QuarantineRecord(
                repo: repo.id, path: path, commit: commit, expected: digest, actual: digest, size: file.size,
                reason: reason, location: location))
            return fail("rejected: \(reason); the bytes are kept in \(location)")
        } catch let error as BlobStoreError {
            if case .diskFull = error { transfer.discard() }
            return fail("\(error)")
        } catch {
            return fail("\(error)")
        }
    }

    /// The ingest-time structural check (WeightFormats' reader: header length bound, JSON,
    /// dtypes, shape x dtype size = byte range, ranges inside the file, no overlaps).
    static func checkSafetensors(_ url: URL, path: String) throws {
        do {
            _ = try SafetensorsFile(contentsOf: url)
        } catch let error as SafetensorsError {
            var text = "\(path) is not a valid safetensors file: \(error.message)"
            if let tensor = error.tensor { text += " (tensor '\(tensor)')" }
            throw MirrorError(text)
        }
    }

    /// Reads the card, config and adapter metadata of the mirrored commit into the lineage
    /// graph. A lineage problem is a warning: the mirrored bytes are fine either way.
    private func ingestLineage(repo: MirrorRepo, commit: String, into report: inout SyncReport) {
        guard let lineage else { return }
        do {
            let batch = try ModelDirectoryImporter().importDirectory(cacheView.snapshotDirectory(repo.id, commit: commit), id: repo.id)
            let summary = try lineage.apply(batch, origin: "mirror:\(repo.id)@\(commit)")
            report.lineage = "\(summary.edges) edge\(summary.edges == 1 ? "" : "s")"
            report.warnings += batch.warnings
        } catch {
            report.warnings.append("lineage import of \(repo.id)@\(commit.prefix(12)) failed: \(error)")
        }
    }
}

/// Bytes moved by one transfer, counted from the task that runs it; the class only exists
/// so the progress closure can count. Touched by one task at a time.
final class ByteCounter: @unchecked Sendable {
    private(set) var value: Int64 = 0
    func add(_ bytes: Int64) { value += bytes }
}
