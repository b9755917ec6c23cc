import Foundation
import Logging
import ModelIngest
import ModelMirror
import Yams

/// The daemon's configuration file (YAML). Secrets never appear in it: tokens are named by
/// the environment variable that holds them (`token_env`), read at start and on reload.
///
/// ```yaml
/// store: ../store                 # relative paths are relative to this file
/// listen: 127.0.0.1:8080
/// admin_token_env: LINEAGE_ADMIN_TOKEN
/// workers: 2
/// scrub_interval: 24h
/// log_format: json                # or text; default: json unless standard error is a terminal
/// log_level: info
/// upstreams:
///   hub: { endpoint: https://huggingface.co, token_env: HF_TOKEN }
/// repos:
///   - id: TheBloke/Taiwan-LLaMa-v1.0-GGUF
///     source: hub
///     revisions: [main, v1.0]     # or `revision: main`, the one-item shorthand
///     include: ["*.json", "*.md"]
///     quantize: [Q4_0]
///     interval: 6h
/// ```
public struct DaemonConfiguration: Sendable, Equatable {
    public struct Listen: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `HOST:PORT`, `[v6]:PORT` or `:PORT` (loopback).
        public static func parse(_ text: String) -> Listen? {
            var host: Substring
            let portText: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
                host = text[text.index(after: text.startIndex)..<close]
                portText = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            }
            if host.isEmpty { host = "127.0.0.1" }
            guard let port = Int(portText), (0...65535).contains(port) else { return nil }
            return Listen(host: String(host), port: port)
        }
    }

    public struct Upstream: Sendable, Equatable {
        public var endpoint: String
        /// The environment variable holding the token; the token itself is never stored here.
        public var tokenEnv: String?

        public init(endpoint: String, tokenEnv: String?) {
            self.endpoint = endpoint
            self.tokenEnv = tokenEnv
        }
    }

    public struct TrackedRepo: Sendable, Equatable {
        public var id: String
        public var source: SourceKind
        /// A git URL (for `git`), or another Hub-compatible endpoint (for `hub`).
        public var url: String?
        /// The upstream's own id when it differs from `id` (a Hub repo mirrored under another name).
        public var upstreamID: String?
        /// Branches, tags or commits to mirror and serve, each synced and kept on its own
        /// (`revision: X` is `revisions: [X]`). Empty: the upstream's default branch. The
        /// first is the one served when a request names no revision.
        public var revisions: [String]
        public var include: [String]
        public var exclude: [String]
        public var quantize: [String]
        public var interval: Duration
        /// Where the entry is, for messages about it.
        public var line: Int?
    }

    public var file: String?
    public var store: String?
    public var listen: Listen
    public var adminTokenEnv: String?
    public var workers: Int
    public var scrubInterval: Duration
    /// nil: JSON unless standard error is a terminal. Both change on restart, not on reload
    /// (swift-log's handler is chosen once per process).
    public var logFormat: LogFormat?
    public var logLevel: Logger.Level?
    public var hub: Upstream
    public var repos: [TrackedRepo]

    public static let defaultListen = Listen(host: "127.0.0.1", port: 8080)
    /// For repos added with `lineage mirror add`, which the configuration does not list.
    public static let defaultSyncInterval: Duration = .seconds(6 * 3600)
    /// The configuration used when no file is given: loopback, the public Hub, no repos
    /// beyond those added with `lineage mirror add`.
    public init() {
        file = nil
        store = nil
        listen = Self.defaultListen
        adminTokenEnv = "LINEAGE_ADMIN_TOKEN"
        workers = 2
        scrubInterval = .seconds(24 * 3600)
        logFormat = nil
        logLevel = nil
        hub = Upstream(endpoint: "https://huggingface.co", tokenEnv: "HF_TOKEN")
        repos = []
    }

    /// Reads and checks a configuration file; any problem is a ``ConfigurationError`` naming
    /// the file, the line and the reason.
    public static func load(file path: String) throws(ConfigurationError) -> DaemonConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, line: nil, message: "cannot read the configuration: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: file, line: 1, message: "the configuration is empty; see Mirror/daemon.yaml for an example")
            }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            throw ConfigurationError(file: file, line: ConfigNode.line(of: error), message: "malformed YAML: \(ConfigNode.problem(of: error))")
        } catch {
            throw ConfigurationError(file: file, line: nil, message: "malformed YAML: \(error)")
        }
        var configuration = DaemonConfiguration()
        configuration.file = file
        let top = ConfigNode(node: root, file: file, path: "")
        let fields = try top.mapping(allowed: [
            "store", "listen", "admin_token_env", "workers", "scrub_interval", "log_format", "log_level", "upstreams", "repos",
        ])
        if let store = fields["store"] {
            let value = try store.string()
            // Relative to the configuration file, so a checked-in example works from any directory.
            configuration.store = value.hasPrefix("/")
                ? value
                : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(value).standardizedFileURL.path
        }
        if let listen = fields["listen"] {
            let value = try listen.string()
            guard let parsed = Listen.parse(value) else {
                throw listen.error("'\(value)' is not HOST:PORT (for example 127.0.0.1:8080)")
            }
            configuration.listen = parsed
        }
        if let admin = fields["admin_token_env"] { configuration.adminTokenEnv = try admin.environmentName() }
        if let workers = fields["workers"] {
            let value = try workers.int()
            guard (1...64).contains(value) else { throw workers.error("workers must be between 1 and 64, not \(value)") }
            configuration.workers = value
        }
        if let scrub = fields["scrub_interval"] { configuration.scrubInterval = try scrub.duration() }
        if let format = fields["log_format"] {
            let value = try format.string()
            guard let parsed = LogFormat(rawValue: value) else {
                throw format.error("unknown log format '\(value)' (allowed: \(LogFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            configuration.logFormat = parsed
        }
        if let level = fields["log_level"] {
            let value = try level.string()
            guard let parsed = Logger.Level(rawValue: value) else {
                throw level.error("unknown log level '\(value)' (allowed: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            configuration.logLevel = parsed
        }
        if let upstreams = fields["upstreams"] {
            let entries = try upstreams.mapping(allowed: ["hub"])
            if let hub = entries["hub"] {
                let hubFields = try hub.mapping(allowed: ["endpoint", "token_env"])
                if let endpoint = hubFields["endpoint"] {
                    let value = try endpoint.string()
                    guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                        throw endpoint.error("the Hub endpoint must be an http:// or https:// URL, not '\(value)'")
                    }
                    configuration.hub.endpoint = value
                }
                if let token = hubFields["token_env"] { configuration.hub.tokenEnv = try token.environmentName() }
            }
        }
        if let repos = fields["repos"] {
            var seen: [String: Int?] = [:]
            for entry in try repos.sequence() {
                let repo = try trackedRepo(entry)
                if let earlier = seen[repo.id] {
                    throw entry.error("repo '\(repo.id)' is listed twice (first at line \(earlier.map(String.init) ?? "?"))")
                }
                seen[repo.id] = repo.line
                configuration.repos.append(repo)
            }
        }
        return configuration
    }

    private static func trackedRepo(_ entry: ConfigNode) throws(ConfigurationError) -> TrackedRepo {
        let fields = try entry.mapping(allowed: ["id", "source", "url", "upstream_id", "revision", "revisions", "include", "exclude", "quantize", "interval"])
        guard let idField = fields["id"] else { throw entry.error("a tracked repo needs an id (ORG/NAME)") }
        let id: String
        do {
            id = try RepoID.validate(try idField.string())
        } catch let error as RepoID.Invalid {
            throw idField.error(error.description)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw idField.error("\(error)")
        }
        var source = SourceKind.hub
        if let sourceField = fields["source"] {
            let value = try sourceField.string()
            // `derived` repos are made here (quantize on ingest), never configured.
            guard let kind = SourceKind(rawValue: value), kind != .derived else {
                throw sourceField.error("unknown source '\(value)' (allowed: git, hub)")
            }
            source = kind
        }
        var url = try fields["url"]?.string()
        if source == .git, url == nil { throw entry.error("repo '\(id)' has source git but no url") }
        if source == .git, let path = url, !path.contains("://"), !path.contains("@"), !path.hasPrefix("/") {
            // A local path, relative to the configuration file like `store`.
            url = URL(fileURLWithPath: entry.file).deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL.path
        }
        let revisions = try revisions(fields, of: id, entry: entry)
        var quantize = try fields["quantize"]?.strings() ?? []
        do {
            quantize = try QuantizeIngest.presetNames(quantize)
        } catch {
            throw fields["quantize"]!.error("\(error)")
        }
        return TrackedRepo(
            id: id, source: source, url: url, upstreamID: try fields["upstream_id"]?.string(),
            revisions: revisions, include: try fields["include"]?.strings() ?? [],
            exclude: try fields["exclude"]?.strings() ?? [], quantize: quantize,
            interval: try fields["interval"]?.duration() ?? defaultSyncInterval, line: entry.line)
    }

    /// The sync jobs a repo gets, by job payload: one per configured revision, or "" for a
    /// repo without any (the revision the mirror recorded for it: `lineage mirror add
    /// --revision`, else the upstream's default branch).
    public func syncPayloads(for repo: String) -> [String] {
        guard let tracked = repos.first(where: { $0.id == repo }), !tracked.revisions.isEmpty else { return [""] }
        return tracked.revisions
    }

    /// `revision: X` or `revisions: [X, Y]` (never both): branch, tag or commit names, each
    /// once, without whitespace (they become ref names and URL components).
    private static func revisions(_ fields: [String: ConfigNode], of id: String, entry: ConfigNode) throws(ConfigurationError) -> [String] {
        if let single = fields["revision"], fields["revisions"] != nil {
            let lines = [single.line, fields["revisions"]?.line].compactMap { $0 }
            throw ConfigurationError(file: entry.file, line: lines.max(), field: entry.path,
                                     message: "repo '\(id)' has both revision and revisions; keep one (revision: X is revisions: [X])")
        }
        var names: [(String, ConfigNode)] = []
        if let single = fields["revision"] {
            names = [(try single.string(), single)]
        } else if let list = fields["revisions"] {
            for item in try list.sequence() { names.append((try item.string(), item)) }
            guard !names.isEmpty else {
                throw list.error("repo '\(id)' lists no revisions; name at least one branch, tag or commit, or drop the key for the default branch")
            }
        }
        var seen: Set<String> = []
        for (name, node) in names {
            guard !name.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }),
                  !name.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == ".." }) else {
                throw node.error("'\(name)' is not a branch, tag or commit name")
            }
            guard seen.insert(name).inserted else { throw node.error("revision '\(name)' is listed twice for repo '\(id)'") }
        }
        return names.map(\.0)
    }

    /// Reads a token from the environment variable the configuration names.
    public static func token(named variable: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let variable, let value = environment[variable], !value.isEmpty else { return nil }
        return value
    }
}

/// `daemon.yaml:12: repos[0].interval: '6 hours' is not a duration (30s, 15m, 6h, 1d)`
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String, line: Int?, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let field, !field.isEmpty { return "\(location): \(field): \(message)" }
        return "\(location): \(message)"
    }
}

/// A YAML node with its file and field path, for typed reads whose errors say where.
struct ConfigNode {
    let node: Node
    let file: String
    let path: String

    var line: Int? { node.mark.map(\.line) }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: line, field: path, message: message)
    }

    func mapping(allowed: Set<String>) throws(ConfigurationError) -> [String: ConfigNode] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var fields: [String: ConfigNode] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw error("a key is not a string") }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                throw ConfigurationError(file: file, line: keyNode.mark.map(\.line), field: childPath,
                                         message: "unknown key '\(key)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
            fields[key] = ConfigNode(node: value, file: file, path: childPath)
        }
        return fields
    }

    func sequence() throws(ConfigurationError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { ConfigNode(node: $0.element, file: file, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { throw error("expected a non-empty string") }
        return scalar.string
    }

    func int() throws(ConfigurationError) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else { throw error("expected a whole number") }
        return value
    }

    func strings() throws(ConfigurationError) -> [String] {
        var values: [String] = []
        for item in try sequence() { values.append(try item.string()) }
        return values
    }

    func environmentName() throws(ConfigurationError) -> String {
        let value = try string()
        let valid = value.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
            && value.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        guard valid else {
            throw error("'\(value)' is not an environment variable name: name the variable that holds the token, never the token itself")
        }
        return value
    }

    /// `90s`, `15m`, `6h`, `1d` (or a bare number of seconds).
    func duration() throws(ConfigurationError) -> Duration {
        let text = try string()
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = Substring(text)
        var scale: Int64 = 1
        if let last = text.last, let unit = units[last] {
            digits = text.dropLast()
            scale = unit
        }
        guard let count = Int64(digits), count > 0 else {
            throw error("'\(text)' is not a duration (for example 30s, 15m, 6h, 1d)")
        }
        return .seconds(count * scale)
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: nil
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let duplicates, _): "duplicate keys \(duplicates.joined(separator: ", "))"
        default: "\(error)"
        }
    }
}
