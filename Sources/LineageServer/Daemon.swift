import AsyncHTTPClient
import Foundation
import Hummingbird
import LineageStore
import Logging
import ModelMirror
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The long-running daemon: the HTTP server, the scheduler and workers, and the
/// configuration reloader in one ServiceGroup. SIGTERM and SIGINT shut it down gracefully (the server stops accepting,
/// finishes the responses in flight, then the group returns); SIGHUP reloads the
/// configuration file, keeping the old one when the new one has an error.
public struct Daemon: Sendable {
    public let configuration: DaemonConfiguration
    public let storeDirectory: URL
    /// The lineage store, for recording the lineage of mirrored commits.
    public let lineage: LineageStore?
    public let loadGraph: LineageView.Loader
    public let logger: Logger
    /// How often the scheduler and idle workers look for work.
    public var tick: Duration = .seconds(2)

    public init(configuration: DaemonConfiguration, storeDirectory: URL, lineage: LineageStore?,
                loadGraph: @escaping LineageView.Loader, logger: Logger) {
        self.configuration = configuration
        self.storeDirectory = storeDirectory
        self.lineage = lineage
        self.loadGraph = loadGraph
        self.logger = logger
    }

    public func run() async throws {
        let metadata = try SQLiteMirrorMetadata(storeDirectory: storeDirectory)
        let blobs = try LocalBlobStore(root: storeDirectory)
        let queue = try SQLiteJobQueue(storeDirectory: storeDirectory)
        try await TrackedRepos.register(configuration.repos, in: metadata)
        let settings = LiveSettings(configuration: configuration)
        let clientConfiguration = MirrorHTTPClient.configuration(trust: try TrustedCAs.fromEnvironment())
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let mirrorSettings = MirrorSettings(
            hubEndpoint: configuration.hub.endpoint, token: DaemonConfiguration.token(named: configuration.hub.tokenEnv))
        let mirror: MirrorService
        do {
            mirror = try MirrorService(root: storeDirectory, metadata: metadata, lineage: lineage, client: client,
                                       settings: mirrorSettings, logger: logger)
        } catch {
            try? await client.shutdown()
            throw error
        }
        let metrics = ServerMetrics()
        let environment = ServerEnvironment(
            reader: MirrorReader(metadata: metadata, blobs: blobs),
            lineage: LineageView(storeDirectory: storeDirectory, load: loadGraph),
            metrics: metrics, settings: settings, jobs: (queue, mirror))
        let runner = JobRunner(queue: queue, work: MirrorJobs(mirror: mirror, queue: queue, logger: logger), settings: settings,
                               metrics: metrics, logger: logger, tick: tick)
        let logger = logger
        let listen = configuration.listen
        let application = Application(
            router: LineageHTTP.router(environment),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "lineage"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                logger.notice("listening on http://\(DaemonConfiguration.Listen(host: listen.host, port: port))",
                              metadata: ["store": .string(storeDirectory.path)])
            },
            logger: logger)
        // Trapped before the server announces itself, so a SIGHUP sent as soon as it answers
        // reloads instead of killing the process (SIGHUP's default action).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let reloader = ConfigurationReloader(file: configuration.file, settings: settings, metadata: metadata,
                                             signals: hangups, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: application), .init(service: runner), .init(service: reloader)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let outcome = await Result { try await group.run() }
        try? await client.shutdown()
        try outcome.get()
        logger.notice("stopped")
    }
}

/// Reloads the configuration on SIGHUP.
struct ConfigurationReloader: Service, CustomStringConvertible {
    let file: String?
    let settings: LiveSettings
    let metadata: any MirrorMetadataStore
    let signals: UnixSignalsSequence
    let logger: Logger

    var description: String { "ConfigurationReloader" }

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            guard let file else {
                logger.warning("SIGHUP: the daemon was started without --config; there is nothing to reload")
                continue
            }
            await reload(file)
        }
    }

    func reload(_ file: String) async {
        let current = await settings.configuration
        let next: DaemonConfiguration
        do {
            next = try DaemonConfiguration.load(file: file)
        } catch {
            var fields: Logger.Metadata = ["file": .string(file)]
            if let line = error.line { fields["line"] = .stringConvertible(line) }
            if let field = error.field, !field.isEmpty { fields["field"] = .string(field) }
            logger.error("configuration refused, keeping the running one: \(error)", metadata: fields)
            return
        }
        if next.listen != current.listen || next.store != current.store || next.logFormat != current.logFormat
            || next.logLevel != current.logLevel {
            logger.warning("listen address, store and log settings change only on restart; the rest of \(file) is applied now",
                           metadata: ["file": .string(file)])
        }
        do {
            try await TrackedRepos.register(next.repos, in: metadata)
        } catch {
            logger.error("configuration refused, keeping the running one: cannot record its repos: \(error)",
                         metadata: ["file": .string(file)])
            return
        }
        await settings.replace(with: next)
        logger.notice("configuration reloaded", metadata: [
            "file": .string(file), "repos": .stringConvertible(next.repos.count),
            "revisions": .stringConvertible(next.repos.reduce(0) { $0 + max(1, $1.revisions.count) }),
        ])
    }
}

enum TrackedRepos {
    /// Records the configuration's repos in the mirror's table, beside those added with
    /// `lineage mirror add` (which stay tracked: the configuration adds, it never removes).
    static func register(_ repos: [DaemonConfiguration.TrackedRepo], in metadata: any MirrorMetadataStore) async throws {
        for tracked in repos {
            let existing = try await metadata.repo(tracked.id)
            let repo = MirrorRepo(
                id: tracked.id, source: tracked.source, url: tracked.url, upstreamID: tracked.upstreamID ?? tracked.id,
                revision: tracked.revisions.first, include: tracked.include, exclude: tracked.exclude,
                quantize: tracked.quantize, addedAt: existing?.addedAt ?? Date())
            if repo != existing { try await metadata.upsertRepo(repo) }
        }
    }
}

extension Result where Failure == any Error {
    /// `Result { try await ... }`: the async counterpart of Result(catching:).
    init(_ body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
