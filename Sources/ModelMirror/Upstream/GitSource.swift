import AsyncHTTPClient
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Any git URL, mirrored with libgit2 into `<store>/git/<org>/<name>.git`: every ref, fetched
/// again with prune on each sync. Small files come from the object database (their git blob
/// id is their checksum); LFS pointers are parsed and their objects fetched from the remote's
/// LFS endpoint (batch API, or the standalone layout of a local remote).
///
/// An actor because the libgit2 repository handle must stay on one thread of control; the
/// LFS transfers themselves run outside it, in parallel.
actor GitSource: UpstreamSource {
    let repo: MirrorRepo
    let mirrorPath: URL
    let client: HTTPClient
    let retry: RetryPolicy
    let logger: Logger
    /// Bearer token for LFS endpoints on the Hub's host (HF_TOKEN), never logged.
    let hubToken: String?
    let hubHost: String?
    /// Tokens and ssh keys for the remote (``GitCredentials``), never logged.
    let credentials: GitCredentials

    private var repository: GitRepository?
    private var endpoint: LFSEndpoint?
    private var actions: [SHA256Digest: LFSAction] = [:]
    private var ref: String = "main"

    init(repo: MirrorRepo, mirrorPath: URL, client: HTTPClient, retry: RetryPolicy, logger: Logger,
         hubToken: String?, hubHost: String?) {
        self.repo = repo
        self.mirrorPath = mirrorPath
        self.client = client
        self.retry = retry
        self.logger = logger
        self.hubToken = hubToken
        self.hubHost = hubHost
        var credentials = GitCredentials.fromEnvironment()
        // The Hub's git remotes take the Hub token as the basic password.
        if credentials.token == nil, let hubToken, !hubToken.isEmpty, let hubHost,
           GitRemoteAddress(repo.url ?? "")?.host.lowercased() == hubHost {
            credentials.token = hubToken
            credentials.tokenVariable = "HF_TOKEN"
        }
        self.credentials = credentials
    }

    struct GitSourceError: Error, CustomStringConvertible {
        let description: String
    }

    private nonisolated var remoteURL: String { repo.url ?? "" }

    func snapshot() async throws -> UpstreamSnapshot {
        // One fetch into a bare mirror at a time, across processes (the CLI and the daemon
        // share the store). Whoever holds this lock may delete git's own `*.lock` files: they
        // can only be left by a process killed mid-fetch, and would fail every later fetch.
        let fetchLock = try await GitMirrorLock.acquire(for: mirrorPath)
        defer { fetchLock.release() }
        for stale in fetchLock.removeStaleGitLocks() {
            logger.warning("removed a lock file left by an interrupted fetch", metadata: ["file": .string(stale)])
        }
        let repository = try GitRepository.openMirror(at: mirrorPath, remoteURL: remoteURL)
        self.repository = repository
        try repository.fetch(credentials: credentials)
        let (commit, ref) = try repository.resolve(repo.revision)
        self.ref = ref
        var snapshot = UpstreamSnapshot(commit: commit.hex, ref: ref, files: [], refused: [], skipped: [])
        var lfsConfig: String?
        for entry in try repository.files(at: commit) {
            let path: RepoPath
            do {
                path = try RepoPath(entry.path)
            } catch {
                snapshot.refused.append((entry.path, error.reason))
                continue
            }
            switch entry.kind {
            case .submodule:
                snapshot.skipped.append((entry.path, "submodule (commit \(entry.oid.hex)); submodules are not followed"))
                continue
            case .symlink:
                snapshot.refused.append((entry.path, "symbolic link: it could point outside the snapshot, so it is not mirrored"))
                continue
            case .file, .executable:
                break
            }
            let size = try repository.blobSize(entry.oid)
            guard size < Int64(LFSPointer.maximumSize) else {
                snapshot.files.append(UpstreamFile(path: path, size: size, treeOID: entry.oid, lfs: nil))
                continue
            }
            let contents = try repository.blobContents(entry.oid)
            if path.string == ".lfsconfig" { lfsConfig = String(decoding: contents, as: UTF8.self) }
            switch LFSPointer.classify(contents) {
            case .pointer(let pointer):
                snapshot.files.append(UpstreamFile(path: path, size: pointer.size, treeOID: entry.oid, lfs: pointer))
            case .invalid(let invalid):
                snapshot.refused.append((entry.path, "the LFS pointer lies: \(invalid.reason)"))
            case .notAPointer:
                snapshot.files.append(UpstreamFile(path: path, size: size, treeOID: entry.oid, lfs: nil))
            }
        }
        let lfsURL = lfsConfig.flatMap { GitConfigText.value(in: $0, section: "lfs", key: "url") }
            ?? repository.configString("lfs.url")
        endpoint = LFSEndpoint.derive(remoteURL: remoteURL, lfsURL: lfsURL)
        return snapshot
    }

    func prepare(_ files: [UpstreamFile], ref: String) async -> [RepoPath: String] {
        let pointers = files.compactMap(\.lfs)
        guard !pointers.isEmpty else { return [:] }
        guard let endpoint else {
            return Dictionary(files.filter { $0.lfs != nil }.map {
                ($0.path, "no LFS endpoint can be derived from the remote URL '\(TransferError.redact(remoteURL))'; set lfs.url in .lfsconfig")
            }, uniquingKeysWith: { a, _ in a })
        }
        guard case .http(let url) = endpoint else { return [:] }
        do {
            let results = try await LFSBatchClient(client: client, retry: retry, logger: logger)
                .download(endpoint: url, objects: pointers, ref: ref, headers: authHeaders(for: url))
            var failures: [RepoPath: String] = [:]
            for file in files {
                guard let oid = file.lfs?.oid else { continue }
                switch results[oid] {
                case .success(let action): actions[oid] = action
                case .failure(let error): failures[file.path] = error.description
                case nil: failures[file.path] = "the LFS batch response left out oid \(oid.hex)"
                }
            }
            return failures
        } catch {
            return Dictionary(files.filter { $0.lfs != nil }.map { ($0.path, "\(error)") }, uniquingKeysWith: { a, _ in a })
        }
    }

    nonisolated func fetch(_ file: UpstreamFile, commit: String, into transfer: StagedTransfer, reporter: FetchReporter) async throws {
        guard let pointer = file.lfs else {
            // Files stored in git: from the object database (libgit2 checks them against the id
            // on read; the store checks the git hash again as they are staged), through a
            // handle of this task's own and straight from libgit2's buffer, so a large blob is
            // in memory once, not copied.
            let reader = try GitRepository.openForReading(at: mirrorPath)
            try reader.withBlobBytes(file.treeOID!) { bytes in
                if transfer.offset > 0 { try transfer.restart() }
                try transfer.append(bytes)
                reporter.progress(Int64(bytes.count))
            }
            return
        }
        switch await endpoint {
        case .standalone(let directory):
            try copyStandalone(pointer, from: directory, into: transfer, reporter: reporter)
        case .http:
            let downloader = HTTPDownloader(client: client, retry: retry, logger: logger)
            try await downloader.download(from: { try await self.freshSource(for: pointer) }, into: transfer,
                                          expectedSize: pointer.size, progress: reporter.progress, onRetry: reporter.retry)
        case nil:
            throw GitSourceError(description: "no LFS endpoint for \(TransferError.redact(remoteURL))")
        }
    }

    /// The download action for `pointer`, asked for again when it is about to expire.
    private func freshSource(for pointer: LFSPointer) async throws -> HTTPSource {
        if let action = actions[pointer.oid], action.isFresh() {
            return HTTPSource(url: action.href, headers: action.headers.map { ($0.key, $0.value) })
        }
        guard case .http(let url) = endpoint else { throw GitSourceError(description: "internal: no http LFS endpoint") }
        let results = try await LFSBatchClient(client: client, retry: retry, logger: logger)
            .download(endpoint: url, objects: [pointer], ref: ref, headers: authHeaders(for: url))
        switch results[pointer.oid] {
        case .success(let action):
            actions[pointer.oid] = action
            return HTTPSource(url: action.href, headers: action.headers.map { ($0.key, $0.value) })
        case .failure(let error):
            throw TransferError(kind: .refused(status: error.code), url: TransferError.redact(url), message: error.description)
        case nil:
            throw TransferError(kind: .refused(status: 0), url: TransferError.redact(url), message: "no action for oid \(pointer.oid.hex)")
        }
    }

    /// The Hub's LFS endpoints take HF_TOKEN as a bearer token; another https endpoint on the
    /// git remote's own host gets the git token as basic credentials (what git-lfs sends from
    /// git's credential helper).
    private func authHeaders(for url: String) -> [(String, String)] {
        if let hubToken, !hubToken.isEmpty, let hubHost, HTTPDownloader.host(of: url) == hubHost {
            return [("Authorization", "Bearer \(hubToken)")]
        }
        if let remote = GitRemoteAddress(remoteURL), let basic = credentials.basicAuthorization(remote: remote, endpoint: url) {
            return [basic]
        }
        return []
    }

    /// git-lfs's standalone file transfer: the object is a file under the remote's
    /// `lfs/objects`; copied from the staged offset on.
    private nonisolated func copyStandalone(
        _ pointer: LFSPointer, from directory: URL, into transfer: StagedTransfer, reporter: FetchReporter
    ) throws {
        let object = LFSEndpoint.standalone(directory).standaloneObject(pointer.oid, in: directory)
        let fd = open(object.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw GitSourceError(description: "LFS object \(pointer.oid.hex) is not in \(directory.path)/lfs/objects (\(String(cString: strerror(errno)))); push it there with `git lfs push --all`")
        }
        defer { close(fd) }
        if transfer.offset > pointer.size { try transfer.restart() }
        guard lseek(fd, off_t(transfer.offset), SEEK_SET) >= 0 else {
            throw GitSourceError(description: "cannot seek in \(object.path): \(String(cString: strerror(errno)))")
        }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var pending: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, chunk)
            if count < 0 {
                if errno == EINTR { continue }
                throw GitSourceError(description: "cannot read \(object.path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            try transfer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            pending += Int64(count)
            if pending >= 8 << 20 {
                reporter.progress(pending)
                pending = 0
            }
            // Longer than the pointer says: stop, the size check reports it.
            if transfer.offset > pointer.size { break }
        }
        reporter.progress(pending)
    }
}

/// Just enough of git's config syntax for `.lfsconfig`: `[section]` headers and
/// `key = value` lines, comments with `#` or `;`.
enum GitConfigText {
    static func value(in text: String, section wanted: String, key wantedKey: String) -> String? {
        var section = ""
        var found: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), let end = line.firstIndex(of: "]") {
                section = line[line.index(after: line.startIndex)..<end].trimmingCharacters(in: .whitespaces).lowercased()
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            if section == wanted.lowercased() && key == wantedKey.lowercased() { found = value }
        }
        return found
    }
}

/// An advisory `flock` on `<mirror>.git.fetch-lock`, beside the bare mirror: released by the
/// kernel when its holder dies, unlike git's own lock files inside the repository.
final class GitMirrorLock {
    private var fd: Int32
    let mirrorPath: URL

    private init(fd: Int32, mirrorPath: URL) {
        self.fd = fd
        self.mirrorPath = mirrorPath
    }

    static func acquire(for mirrorPath: URL) async throws -> GitMirrorLock {
        let directory = mirrorPath.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("\(mirrorPath.lastPathComponent).fetch-lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MirrorError("cannot open \(path): \(String(cString: strerror(errno)))") }
        // Polled rather than blocking, so a long fetch by another process never ties up a
        // thread of the concurrency pool.
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                close(fd)
                throw error
            }
        }
        return GitMirrorLock(fd: fd, mirrorPath: mirrorPath)
    }

    /// Deletes git's `*.lock` files in the mirror (refs, packed-refs, config, HEAD); returns them.
    func removeStaleGitLocks() -> [String] {
        guard let walker = FileManager.default.enumerator(at: mirrorPath, includingPropertiesForKeys: nil) else { return [] }
        var removed: [String] = []
        for case let url as URL in walker {
            // Object storage holds no git locks and may hold many files: not walked.
            if url.lastPathComponent == "objects", url.deletingLastPathComponent().standardizedFileURL == mirrorPath.standardizedFileURL {
                walker.skipDescendants()
                continue
            }
            guard url.lastPathComponent.hasSuffix(".lock") else { continue }
            if (try? FileManager.default.removeItem(at: url)) != nil { removed.append(url.path) }
        }
        return removed
    }

    func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { release() }
}
