import ArgumentParser
import Foundation
import LineageServer
import LineageStore
import Logging

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Serve the mirror (Hub-compatible and Git LFS APIs), the lineage graph and its web page over HTTP.",
        discussion: """
            The configuration (YAML, see Mirror/daemon.yaml) names the store, the listen address, \
            the upstreams with the environment variables that hold their tokens, and the repos to \
            track; repos added with `lineage mirror add` are served too. --store and --listen \
            override the file. SIGTERM or SIGINT stop it gracefully; SIGHUP reloads the \
            configuration (an erroneous file is refused and the running one kept). Logs go to \
            standard error, one JSON object per line unless it is a terminal (--log-format, \
            log_format: in the file); the level is --log-level, else $LINEAGE_LOG_LEVEL, else \
            log_level: in the file, else info.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's configuration file (YAML).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The store directory (overrides the configuration).", valueName: "dir"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("Where to listen, HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one).", valueName: "host:port"))
    var listen: String?

    @Option(name: .long, help: ArgumentHelp("Use this catalog directory instead of the built-in one (also $LINEAGE_CATALOG).", valueName: "dir"))
    var catalog: String?

    @Option(name: .long, help: ArgumentHelp("Log lines as json or text (default: json unless standard error is a terminal).", valueName: "format"))
    var logFormat: LogFormat?

    @Option(name: .long, help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (default info).", valueName: "level"))
    var logLevel: Logger.Level?

    func validate() throws {
        if let listen, DaemonConfiguration.Listen.parse(listen) == nil {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT (for example 127.0.0.1:8080)")
        }
    }

    func run() async throws {
        var configuration = DaemonConfiguration()
        if let config {
            do {
                configuration = try DaemonConfiguration.load(file: config)
            } catch {
                Terminal.error("configuration refused: \(error)")
                throw ExitCode.failure
            }
        }
        if let listen { configuration.listen = DaemonConfiguration.Listen.parse(listen)! }
        let storeOptions = try StoreOptions.parse((store ?? configuration.store).map { ["--store", $0] } ?? [])
        var options = storeOptions
        options.catalog = catalog
        let location = StoreLocation.resolve(explicit: options.store)
        let lineage: LineageStore
        do {
            lineage = try options.openStore()
        } catch {
            Terminal.error("cannot open the store at \(location.path): \(error)")
            throw ExitCode.failure
        }
        switch logFormat ?? configuration.logFormat ?? .standardDefault {
        case .json: LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        case .text: LoggingSystem.bootstrap(StreamLogHandler.standardError)
        }
        var logger = Logger(label: "lineage.daemon")
        logger.logLevel = logLevel ?? ProcessInfo.processInfo.environment["LINEAGE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
            ?? configuration.logLevel ?? .info
        var daemon = Daemon(configuration: configuration, storeDirectory: location, lineage: lineage,
                            loadGraph: { try lineage.loadGraph() }, logger: logger)
        if let tick = ProcessInfo.processInfo.environment["LINEAGE_DAEMON_TICK_MS"].flatMap(Int.init), tick > 0 {
            // Tests shorten the scheduler's period; operators have no reason to.
            daemon.tick = .milliseconds(tick)
        }
        do {
            try await daemon.run()
        } catch {
            Terminal.error("the daemon stopped: \(error)")
            throw ExitCode.failure
        }
    }
}

extension LogFormat: ExpressibleByArgument {}
// Logger.Level is swift-log's; the conformance only parses --log-level here.
extension Logger.Level: @retroactive ExpressibleByArgument {}
