import ArgumentParser
import AsyncHTTPClient
import Foundation
import LineageStore
import Logging
import ModelIngest
import ModelMirror

struct MirrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Keep verified local copies of model repositories (git + LFS, or the Hugging Face Hub API).",
        discussion: """
            Every file is checked while it streams: LFS objects against their SHA-256 oid, other \
            files against their git blob id. Only verified bytes reach <store>/blobs; the rest \
            goes to <store>/quarantine with a record. Mirrored commits appear as a Hugging Face \
            cache in <store>/hub: HF_HUB_CACHE=<store>/hub HF_HUB_OFFLINE=1 loads them with no \
            network. HF_TOKEN (never logged) authenticates to the Hub; HF_ENDPOINT or --endpoint \
            picks another Hub-compatible server. Git remotes: GIT_SSL_CAINFO, else SSL_CERT_FILE, \
            names the CA bundle https trusts (git and LFS alike); LINEAGE_GIT_TOKEN is the https \
            basic password when a server asks; ssh uses LINEAGE_SSH_KEY, else ssh-agent, else \
            ~/.ssh/id_*, and checks host keys against ~/.ssh/known_hosts (or LINEAGE_SSH_KNOWN_HOSTS).
            """,
        subcommands: [
            MirrorAddCommand.self, MirrorSyncCommand.self, MirrorListCommand.self, MirrorVerifyCommand.self,
            MirrorGCCommand.self, MirrorRemoveCommand.self,
        ]
    )
}

/// Options shared by the mirror commands that talk to upstreams.
struct MirrorNetworkOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Hub-compatible endpoint (default: $HF_ENDPOINT, else https://huggingface.co).", valueName: "url"))
    var endpoint: String?

    @Option(name: .long, help: "Files transferred at once.")
    var concurrency: Int = 4

    @Option(name: .long, help: "Attempts in a row without progress before a transfer gives up.")
    var attempts: Int = 5

    @Option(name: .long, help: ArgumentHelp("First retry delay in milliseconds (doubling, with jitter).", valueName: "ms"))
    var retryDelay: Int = 500

    func settings() -> MirrorSettings {
        var settings = MirrorSettings.fromEnvironment(endpoint: endpoint)
        settings.retry = RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(retryDelay))
        settings.concurrency = concurrency
        return settings
    }
}

/// Opens the mirror on the store, runs `body`, and shuts the HTTP client down whatever happens.
func withMirror<T: Sendable>(
    _ storeOptions: StoreOptions, settings: MirrorSettings = .fromEnvironment(endpoint: nil), lineage: Bool = false,
    progress: Bool = false, _ body: @Sendable (MirrorService) async throws -> T
) async throws -> T {
    let location = StoreLocation.resolve(explicit: storeOptions.store)
    let lineageStore = lineage ? try storeOptions.openStore() : nil
    let metadata = try SQLiteMirrorMetadata(storeDirectory: location)
    var logger = Logger(label: "lineage.mirror")
    logger.logLevel = ProcessInfo.processInfo.environment["LINEAGE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    let configuration = MirrorHTTPClient.configuration(trust: try TrustedCAs.fromEnvironment())
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let (events, continuation) = AsyncStream.makeStream(of: MirrorEvent.self, bufferingPolicy: .unbounded)
    let display = progress ? Task { await MirrorProgress().run(events) } : nil
    let result: Result<T, Error>
    do {
        let mirror = try MirrorService(root: location, metadata: metadata, lineage: lineageStore, client: client,
                                       settings: settings, logger: logger, events: progress ? continuation : nil)
        result = .success(try await body(mirror))
    } catch {
        result = .failure(error)
    }
    continuation.finish()
    await display?.value
    try? await client.shutdown()
    return try result.get()
}

func runReportingAsync(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        Terminal.error("\(error)")
        throw ExitCode.failure
    }
}

struct MirrorAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Track a repo: a Hub id (org/name) or a git URL / local path.",
        discussion: "A git URL's repo id defaults to its last two path components without .git. Run `lineage mirror sync` to fetch it."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "org/name on the Hub, or a git URL (https, ssh, file://) or local path.")
    var repo: String

    @Option(name: .long, help: "git or hub (default: git for URLs and paths, hub for org/name).")
    var source: SourceKind?

    @Option(name: .customLong("as"), help: ArgumentHelp("The id to mirror it under.", valueName: "org/name"))
    var id: String?

    @Option(name: .long, help: "Branch, tag or commit to follow (default: the default branch).")
    var revision: String?

    @Option(name: .long, help: ArgumentHelp("Mirror only paths matching this glob (repeatable).", valueName: "glob"))
    var include: [String] = []

    @Option(name: .long, help: ArgumentHelp("Leave out paths matching this glob (repeatable).", valueName: "glob"))
    var exclude: [String] = []

    @Option(name: .long, help: ArgumentHelp("Hub-compatible endpoint to record for this repo.", valueName: "url"))
    var endpoint: String?

    @Option(name: .long, help: ArgumentHelp("Quantize every verified commit to these presets (e.g. Q8_0,Q4_K_M), published as ORG/NAME-GGUF.", valueName: "presets"))
    var quantize: [String] = []

    func run() async throws {
        let (repo, source, id, revision, include, exclude, endpoint) = (self.repo, self.source, self.id, self.revision, self.include, self.exclude, self.endpoint)
        let quantize = self.quantize.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        try await runReportingAsync {
            let presets = try QuantizeIngest.presets(quantize).map(\.rawValue)
            let added = try await withMirror(storeOptions) { mirror in
                var added = try await mirror.add(repo, source: source, as: id, revision: revision, include: include, exclude: exclude,
                                                 quantize: presets)
                if added.source == .hub, let endpoint {
                    added.url = endpoint
                    try await mirror.metadata.upsertRepo(added)
                }
                return added
            }
            let from = added.source == .git ? added.url ?? "" : "hub \(added.upstreamID)" + (added.url.map { " at \($0)" } ?? "")
            var line = "tracking \(added.id) (\(from), \(added.revision ?? "default branch"))"
            if !added.quantize.isEmpty {
                line += "; quantizing to \(added.quantize.joined(separator: ", ")) as \(QuantizeIngest.derivedRepoID(for: added.id))"
            }
            print(line)
        }
    }
}

extension SourceKind: ExpressibleByArgument {}

struct MirrorSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Fetch what changed upstream, verify every byte, publish complete commits.",
        discussion: "Exits non-zero when any file failed; what did verify stays in the store and is not fetched again."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var network: MirrorNetworkOptions

    @Argument(help: "The repo to sync (default: every tracked repo).")
    var repo: String?

    func run() async throws {
        let repo = self.repo
        try await runReportingAsync {
            let results = try await withMirror(storeOptions, settings: network.settings(), lineage: true, progress: true) { mirror in
                var ids: [String]
                // Derived repos (org/name-GGUF) are made from their source, not synced.
                if let repo { ids = [repo] } else { ids = try await mirror.metadata.repos().filter { $0.source != .derived }.map(\.id) }
                if ids.isEmpty { throw CommandFailure("no repos tracked; add one with `lineage mirror add`") }
                var results: [(SyncReport, QuantizeIngest.Report?)] = []
                let ingest = QuantizeIngest(mirror: mirror, lineage: mirror.lineage)
                for id in ids {
                    let report = await mirror.sync(id)
                    // Quantize on ingest: only a commit that completed and verified.
                    var quantized: QuantizeIngest.Report?
                    if report.succeeded, let tracked = try await mirror.metadata.repo(id), !tracked.quantize.isEmpty {
                        quantized = await ingest.run(repo: id, commit: report.commit) { print($0) }
                    }
                    results.append((report, quantized))
                }
                return results
            }
            var failed = false
            for (report, quantized) in results {
                defer {
                    if let quantized, !Self.show(quantized) { failed = true }
                }
                for warning in report.warnings { Terminal.warning("\(report.repo): \(warning)") }
                for skipped in report.skipped { Terminal.warning("\(report.repo): skipped \(skipped.path): \(skipped.reason)") }
                if let error = report.error {
                    Terminal.error("\(report.repo): \(error)")
                    failed = true
                    continue
                }
                let commit = report.commit.map { String($0.prefix(12)) } ?? "?"
                if report.published {
                    var line = "synced \(report.repo)@\(commit) (\(report.ref ?? "")): \(report.files) files, \(report.fetched) fetched (\(MirrorProgress.bytes(report.bytesTransferred)) transferred), \(report.reused) already stored"
                    if let lineage = report.lineage { line += "; lineage: \(lineage)" }
                    print(line)
                } else {
                    failed = true
                    for failure in report.failures { Terminal.error("\(report.repo)@\(commit): \(failure.path): \(failure.message)") }
                    Terminal.error("\(report.repo)@\(commit): \(report.failures.count) file(s) failed; nothing was published for this commit (\(report.fetched) other file(s) fetched and verified, kept for the next sync)")
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    /// Prints what quantize on ingest made; false when something failed.
    static func show(_ report: QuantizeIngest.Report) -> Bool {
        for warning in report.warnings { Terminal.warning("\(report.repo): \(warning)") }
        if let error = report.error {
            Terminal.error("\(report.repo): quantize: \(error)")
            return false
        }
        for made in report.made {
            print("\(made.reused ? "kept" : "made") \(report.derivedRepo)/\(made.file) (\(made.preset), \(MirrorProgress.bytes(made.size)), sha256:\(made.digest.hex))"
                  + (made.reused ? ": already made from the same inputs" : " in \(String(format: "%.1f", made.seconds)) s"))
        }
        for failure in report.failures {
            Terminal.error("\(report.repo)@\(report.commit.map { String($0.prefix(12)) } ?? "?"): quantize \(failure.preset): \(failure.message); nothing was stored for it")
        }
        if let commit = report.derivedCommit {
            print("published \(report.derivedRepo)@\(commit.prefix(12))" + (report.lineage.map { "; lineage: \($0)" } ?? ""))
        }
        return report.failures.isEmpty
    }
}

struct MirrorListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List tracked repos and their mirrored commits.")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await runReportingAsync {
            let lines = try await withMirror(storeOptions) { mirror in
                var lines: [String] = []
                for repo in try await mirror.metadata.repos() {
                    let from = switch repo.source {
                    case .git: repo.url ?? ""
                    case .hub: "hub:\(repo.upstreamID)"
                    case .derived: "from:\(repo.derivedFrom ?? "?")"
                    }
                    var line = "\(repo.id)\t\(repo.source.rawValue)\t\(from)\t\(repo.revision ?? "default")"
                    if !repo.include.isEmpty { line += "\tinclude=\(repo.include.joined(separator: ","))" }
                    if !repo.exclude.isEmpty { line += "\texclude=\(repo.exclude.joined(separator: ","))" }
                    if !repo.quantize.isEmpty { line += "\tquantize=\(repo.quantize.joined(separator: ","))" }
                    lines.append(line)
                    let refs = try await mirror.metadata.refs(of: repo.id)
                    for revision in try await mirror.metadata.revisions(of: repo.id) {
                        let names = refs.filter { $0.value == revision.commit }.map(\.key).sorted()
                        lines.append("  \(revision.commit)\t\(revision.fileCount) files\t\(MirrorProgress.bytes(revision.totalBytes))\t\(names.isEmpty ? "(no ref)" : names.joined(separator: ","))")
                    }
                    if try await mirror.metadata.revisions(of: repo.id).isEmpty { lines.append("  (not synced yet)") }
                }
                return lines
            }
            if lines.isEmpty { print("no repos tracked; add one with `lineage mirror add`") }
            for line in lines { print(line) }
        }
    }
}

struct MirrorGCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Drop commits no ref points at and blobs no file uses; tidy the cache view."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Also delete partial transfers in staging/ (they would otherwise resume).")
    var purgeStaging = false

    func run() async throws {
        let purge = purgeStaging
        try await runReportingAsync {
            let report = try await withMirror(storeOptions) { mirror in try await mirror.gc(purgeStaging: purge) }
            print("gc: \(report.prunedRevisions.count) old commit(s) dropped, \(report.deletedBlobs) blob(s) deleted (\(MirrorProgress.bytes(report.freedBytes)) freed), \(report.removedViewLinks) cache-view link(s) removed" +
                  (purge ? ", \(report.discardedStaging) staged transfer(s) discarded" : report.keptStaging > 0 ? ", \(MirrorProgress.bytes(report.keptStaging)) of partial transfers kept in staging/ (--purge-staging drops them)" : ""))
        }
    }
}

struct MirrorRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Stop tracking a repo; its blobs are freed by the next gc unless other repos share them."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The repo id (org/name).")
    var repo: String

    func run() async throws {
        let repo = self.repo
        try await runReportingAsync {
            try await withMirror(storeOptions) { mirror in try await mirror.remove(repo) }
            print("removed \(repo); run `lineage mirror gc` to free its blobs")
        }
    }
}
