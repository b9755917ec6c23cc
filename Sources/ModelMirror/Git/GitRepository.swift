import CLibGit2
import Foundation

/// A failed libgit2 call, with libgit2's own message and what lineage was doing.
public struct GitError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let target: String
    public let message: String
    public let code: Int32

    public var description: String { "git: \(operation) \(target) failed: \(message)" }

    static func check(_ code: Int32, _ operation: String, _ target: String) throws(GitError) {
        guard code < 0 else { return }
        let message = git_error_last().map { String(cString: $0.pointee.message) } ?? "libgit2 error \(code)"
        throw GitError(operation: operation, target: target, message: message, code: code)
    }
}

/// libgit2's global state: initialised once per process, with hash verification on (every
/// object read from the database is checked against its id) and the CA bundle of
/// ``TrustedCAs`` (libgit2's TLS settings are global, so the environment is read once).
enum LibGit2 {
    private static let initialised: Result<TrustedCAs, MirrorError> = {
        git_libgit2_init()
        lineage_git_set_strict_hash_verification(1)
        do throws(MirrorError) {
            let trust = try TrustedCAs.fromEnvironment()
            if let file = trust.file, lineage_git_set_ssl_cert_file(file) < 0 {
                let message = git_error_last().map { String(cString: $0.pointee.message) } ?? "libgit2 refused it"
                return .failure(MirrorError("\(trust.source): libgit2 cannot load those CA certificates (\(message)); point \(trust.variable!) at a PEM file of CA certificates"))
            }
            return .success(trust)
        } catch {
            return .failure(error)
        }
    }()

    static func ensureInitialised() { _ = initialised }

    /// Why a URL scheme cannot be fetched by this libgit2 build, nil when it can.
    static func missingTransport(_ scheme: String) -> String? {
        let features = UInt32(bitPattern: git_libgit2_features())
        let (feature, name) = scheme == "ssh" ? (GIT_FEATURE_SSH, "ssh") : (GIT_FEATURE_HTTPS, "https")
        guard scheme == "ssh" || scheme == "https", features & feature.rawValue == 0 else { return nil }
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        git_libgit2_version(&major, &minor, &revision)
        return "the system libgit2 (\(major).\(minor).\(revision)) was built without \(name), so \(name) remotes cannot be mirrored; install a libgit2 with \(name) (Debian's libgit2 has it) or use another URL of the repository"
    }

    /// The CAs git fetches trust; throws when the environment names an unusable bundle.
    static func trust() throws(MirrorError) -> TrustedCAs { try initialised.get() }
}

/// One entry of a commit's tree, as git stores it (its name not yet checked).
struct GitTreeEntry: Sendable {
    enum Kind: Sendable { case file, executable, symlink, submodule }
    let path: String
    let kind: Kind
    let oid: GitObjectID
}

/// A bare mirror of a remote (`<store>/git/<org>/<name>.git`): every ref of the remote,
/// fetched with prune (refs deleted upstream go away here too).
///
/// libgit2 objects are not safe to share between threads, so an instance is confined to the
/// ``GitSource`` actor that owns it.
final class GitRepository {
    let path: URL
    private let repository: OpaquePointer

    private init(path: URL, repository: OpaquePointer) {
        self.path = path
        self.repository = repository
    }

    deinit { git_repository_free(repository) }

    /// Opens the bare mirror at `path`, creating it with an `origin` remote that maps every
    /// remote ref onto the same name (`+refs/*:refs/*`, what `git clone --mirror` sets up).
    static func openMirror(at path: URL, remoteURL: String) throws(GitError) -> GitRepository {
        LibGit2.ensureInitialised()
        var repository: OpaquePointer?
        if FileManager.default.fileExists(atPath: path.appendingPathComponent("HEAD").path) {
            try GitError.check(git_repository_open_bare(&repository, path.path), "open", path.path)
        } else {
            try? FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            try GitError.check(git_repository_init(&repository, path.path, 1), "create bare repository", path.path)
        }
        let mirror = GitRepository(path: path, repository: repository!)
        try mirror.configureOrigin(remoteURL)
        return mirror
    }

    private func configureOrigin(_ url: String) throws(GitError) {
        var remote: OpaquePointer?
        if git_remote_lookup(&remote, repository, "origin") == 0 {
            defer { git_remote_free(remote) }
            if String(cString: git_remote_url(remote)) != url {
                try GitError.check(git_remote_set_url(repository, "origin", url), "set the origin URL of", path.path)
            }
            return
        }
        try GitError.check(git_remote_create_with_fetchspec(&remote, repository, "origin", url, "+refs/*:refs/*"),
                           "add remote \(url) to", path.path)
        git_remote_free(remote)
        var config: OpaquePointer?
        try GitError.check(git_repository_config(&config, repository), "open the config of", path.path)
        defer { git_config_free(config) }
        try GitError.check(git_config_set_bool(config, "remote.origin.mirror", 1), "configure", path.path)
    }

    /// Fetches every ref of origin, pruning refs that are gone upstream, and points HEAD at
    /// the remote's default branch. Returns that branch (`refs/heads/main`) when the remote
    /// tells it. Credentials and the TLS / ssh host key checks follow ``GitCredentials`` and
    /// ``TrustedCAs``; a refusal by either fails with the cause and the fix.
    @discardableResult
    func fetch(credentials: GitCredentials) throws -> String? {
        var remote: OpaquePointer?
        try GitError.check(git_remote_lookup(&remote, repository, "origin"), "find origin in", path.path)
        defer { git_remote_free(remote) }
        let url = String(cString: git_remote_url(remote))
        let session = GitFetchSession(url: url, credentials: credentials, trust: try LibGit2.trust())
        if let scheme = session.address?.scheme, let missing = LibGit2.missingTransport(scheme) {
            throw GitError(operation: "fetch", target: session.redactedURL, message: missing, code: -1)
        }
        var options = git_fetch_options()
        try GitError.check(git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "prepare fetch of", session.redactedURL)
        options.prune = GIT_FETCH_PRUNE
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL
        options.update_fetchhead = 0
        session.install(into: &options.callbacks)
        let code = withExtendedLifetime(session) { git_remote_fetch(remote, nil, &options, "lineage mirror sync") }
        if code < 0, let failure = session.failure {
            git_error_clear()
            throw GitError(operation: "fetch", target: session.redactedURL, message: failure, code: code)
        }
        try GitError.check(code, "fetch", session.redactedURL)
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        guard git_remote_default_branch(&buffer, remote) == 0, let pointer = buffer.ptr else {
            git_error_clear()
            return nil
        }
        let branch = String(cString: pointer)
        _ = git_repository_set_head(repository, branch)
        return branch
    }

    /// Resolves a branch, tag, `HEAD` or commit id to a commit, and the ref name to record
    /// (`main` for `refs/heads/main`, the commit itself when given one).
    func resolve(_ revision: String?) throws(GitError) -> (commit: GitObjectID, ref: String) {
        let candidates: [String]
        if let revision {
            candidates = [revision, "refs/heads/\(revision)", "refs/tags/\(revision)"]
        } else {
            candidates = ["HEAD", "refs/heads/main", "refs/heads/master"]
        }
        for candidate in candidates {
            var object: OpaquePointer?
            guard git_revparse_single(&object, repository, "\(candidate)^{commit}") == 0 else { git_error_clear(); continue }
            defer { git_object_free(object) }
            let oid = Self.objectID(git_object_id(object)!)
            let ref: String
            if let revision, revision != oid.hex, !(revision.count >= 7 && oid.hex.hasPrefix(revision)) {
                ref = revision.hasPrefix("refs/heads/") ? String(revision.dropFirst("refs/heads/".count)) : revision
            } else if revision == nil {
                ref = currentBranch() ?? "main"
            } else {
                ref = oid.hex
            }
            return (oid, ref)
        }
        throw GitError(operation: "resolve revision", target: "\(revision ?? "HEAD") in \(path.path)",
                       message: "no branch, tag or commit by that name after the fetch", code: -3)
    }

    private func currentBranch() -> String? {
        var head: OpaquePointer?
        guard git_repository_head(&head, repository) == 0 else { git_error_clear(); return nil }
        defer { git_reference_free(head) }
        return String(cString: git_reference_shorthand(head))
    }

    /// Every file of the commit's tree, depth first. Names are raw from the tree: the caller
    /// checks them (``RepoPath``).
    func files(at commit: GitObjectID) throws(GitError) -> [GitTreeEntry] {
        var commitObject: OpaquePointer?
        var oid = try Self.gitOID(commit)
        try GitError.check(git_commit_lookup(&commitObject, repository, &oid), "read commit", commit.hex)
        defer { git_commit_free(commitObject) }
        var tree: OpaquePointer?
        try GitError.check(git_commit_tree(&tree, commitObject), "read the tree of", commit.hex)
        defer { git_tree_free(tree) }
        var entries: [GitTreeEntry] = []
        try walk(tree!, prefix: "", into: &entries)
        return entries
    }

    private func walk(_ tree: OpaquePointer, prefix: String, into entries: inout [GitTreeEntry]) throws(GitError) {
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            let name = String(cString: git_tree_entry_name(entry))
            let path = prefix + name
            let oid = git_tree_entry_id(entry)!
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                var subtree: OpaquePointer?
                try GitError.check(git_tree_lookup(&subtree, repository, oid), "read tree", path)
                defer { git_tree_free(subtree) }
                try walk(subtree!, prefix: path + "/", into: &entries)
            case GIT_FILEMODE_BLOB: entries.append(GitTreeEntry(path: path, kind: .file, oid: Self.objectID(oid)))
            case GIT_FILEMODE_BLOB_EXECUTABLE: entries.append(GitTreeEntry(path: path, kind: .executable, oid: Self.objectID(oid)))
            case GIT_FILEMODE_LINK: entries.append(GitTreeEntry(path: path, kind: .symlink, oid: Self.objectID(oid)))
            case GIT_FILEMODE_COMMIT: entries.append(GitTreeEntry(path: path, kind: .submodule, oid: Self.objectID(oid)))
            default: continue
            }
        }
    }

    /// Opens an existing bare mirror for reading only, e.g. a second handle for a task that
    /// runs beside the one that owns the first (libgit2 handles are per thread of control).
    static func openForReading(at path: URL) throws(GitError) -> GitRepository {
        LibGit2.ensureInitialised()
        var repository: OpaquePointer?
        try GitError.check(git_repository_open_bare(&repository, path.path), "open", path.path)
        return GitRepository(path: path, repository: repository!)
    }

    /// The blob's size from its object header: a large blob is not inflated to learn it.
    func blobSize(_ oid: GitObjectID) throws(GitError) -> Int64 {
        var database: OpaquePointer?
        try GitError.check(git_repository_odb(&database, repository), "open the object database of", path.path)
        defer { git_odb_free(database) }
        var id = try Self.gitOID(oid)
        var size = 0
        var type = GIT_OBJECT_INVALID
        try GitError.check(git_odb_read_header(&size, &type, database, &id), "read the header of blob", oid.hex)
        return Int64(size)
    }

    /// Runs `body` over the blob's bytes in libgit2's own buffer (checked against the id on
    /// read), without a copy. libgit2 inflates a packed object whole: there is no streaming
    /// read out of a pack, so the buffer is as large as the blob.
    func withBlobBytes<T>(_ oid: GitObjectID, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        var id = try Self.gitOID(oid)
        var blob: OpaquePointer?
        try GitError.check(git_blob_lookup(&blob, repository, &id), "read blob", oid.hex)
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        return try body(UnsafeRawBufferPointer(start: size > 0 ? git_blob_rawcontent(blob) : nil, count: size))
    }

    /// The blob's bytes, read from the object database (libgit2 checks them against the id).
    func blobContents(_ oid: GitObjectID) throws(GitError) -> [UInt8] {
        try withBlob(oid) { blob in
            let size = Int(git_blob_rawsize(blob))
            guard size > 0, let raw = git_blob_rawcontent(blob) else { return [] }
            return Array(UnsafeRawBufferPointer(start: raw, count: size))
        }
    }

    private func withBlob<T>(_ oid: GitObjectID, _ body: (OpaquePointer) -> T) throws(GitError) -> T {
        var id = try Self.gitOID(oid)
        var blob: OpaquePointer?
        try GitError.check(git_blob_lookup(&blob, repository, &id), "read blob", oid.hex)
        defer { git_blob_free(blob) }
        return body(blob!)
    }

    /// A value from the mirror's own git config (`lfs.url` set by hand), nil when unset.
    func configString(_ key: String) -> String? {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, repository) == 0 else { git_error_clear(); return nil }
        defer { git_config_free(config) }
        var value: UnsafePointer<CChar>?
        guard git_config_get_string(&value, config, key) == 0, let value else { git_error_clear(); return nil }
        return String(cString: value)
    }

    static func objectID(_ oid: UnsafePointer<git_oid>) -> GitObjectID {
        let bytes = withUnsafeBytes(of: oid.pointee.id) { Array($0) }
        return GitObjectID(hex: HexDigits.encode(bytes))!
    }

    static func gitOID(_ id: GitObjectID) throws(GitError) -> git_oid {
        var oid = git_oid()
        try GitError.check(git_oid_fromstr(&oid, id.hex), "parse object id", id.hex)
        return oid
    }
}
