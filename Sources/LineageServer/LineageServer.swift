import Foundation
import HTTPTypes
import Hummingbird
import LineageGraph
import Logging
import ModelMirror

/// Everything a request handler reads: the mirror's read side, the lineage view, metrics and
/// the settings a reload may change.
public struct ServerEnvironment: Sendable {
    public let reader: MirrorReader
    public let lineage: LineageView
    public let metrics: ServerMetrics
    public let settings: LiveSettings
    /// Entries per page of `/tree` (the Hub pages recursive listings by 1000).
    public var treePageSize: Int
    /// The job queue and the mirror, for the admin endpoints and queue metrics (the daemon
    /// has them; a read-only server does not).
    public var jobs: (queue: SQLiteJobQueue, mirror: MirrorService)?

    public init(reader: MirrorReader, lineage: LineageView, metrics: ServerMetrics, settings: LiveSettings, treePageSize: Int = 1000,
                jobs: (queue: SQLiteJobQueue, mirror: MirrorService)? = nil) {
        self.reader = reader
        self.lineage = lineage
        self.metrics = metrics
        self.settings = settings
        self.treePageSize = treePageSize
        self.jobs = jobs
    }
}

/// Settings that SIGHUP may replace while requests are being served.
public actor LiveSettings {
    public private(set) var configuration: DaemonConfiguration
    /// The bearer token state-changing endpoints require (from the variable the
    /// configuration names). Without one, those endpoints refuse every request.
    public private(set) var adminToken: String?

    public init(configuration: DaemonConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.configuration = configuration
        adminToken = DaemonConfiguration.token(named: configuration.adminTokenEnv, environment: environment)
    }

    public func replace(with configuration: DaemonConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.configuration = configuration
        adminToken = DaemonConfiguration.token(named: configuration.adminTokenEnv, environment: environment)
    }
}

public enum LineageHTTP {
    /// The router: lineage, operations and page routes, behind the Hub and LFS middlewares
    /// that own the model paths.
    public static func router(_ environment: ServerEnvironment) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(RequestMetricsMiddleware(metrics: environment.metrics))
        router.middlewares.add(HubAPI(reader: environment.reader, metrics: environment.metrics, treePageSize: environment.treePageSize))
        router.middlewares.add(LFSAPI(reader: environment.reader, metrics: environment.metrics))

        router.get("/healthz") { _, _ in
            // Healthy when the database answers: a daemon whose store is gone must say so.
            _ = try await environment.reader.metadata.repos()
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/metrics") { _, _ in
            environment.metrics.snapshot(try await gauges(environment))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: environment.metrics.exposition())))
        }
        router.get("/api/lineage/graph.json") { request, _ in
            let graph = try await environment.lineage.selection(model: model(request))
            return bytes(NodeLinkJSONExporter().export(graph), type: "application/json")
        }
        router.get("/api/lineage/graph.dot") { request, _ in
            let graph = try await environment.lineage.selection(model: model(request))
            return bytes(DOTExporter().export(graph), type: "text/vnd.graphviz; charset=utf-8")
        }
        router.get("/api/lineage/graph.svg") { request, _ in
            bytes(try await environment.lineage.svg(model: model(request)), type: "image/svg+xml")
        }
        router.get("/api/lineage/models") { _, _ in
            let graph = try await environment.lineage.graph()
            let state = try await MirrorState.read(from: environment.reader.metadata)
            return bytes(Array(JSONText.render(ViewerPage.modelsJSON(graph, state: state)).utf8), type: "application/json")
        }
        router.get("/") { request, _ in
            let graph = try await environment.lineage.graph()
            let svg = try await environment.lineage.svg(model: nil)
            let state = try await MirrorState.read(from: environment.reader.metadata)
            let query = request.uri.queryParameters["q"].map(String.init) ?? ""
            return bytes(Array(ViewerPage.html(graph: graph, svg: svg, state: state, query: query).utf8),
                         type: "text/html; charset=utf-8")
        }
        if let jobs = environment.jobs {
            AdminAPI(queue: jobs.queue, mirror: jobs.mirror, settings: environment.settings).register(on: router)
        }
        return router
    }

    static func model(_ request: Request) -> String? {
        request.uri.queryParameters["model"].map(String.init)
    }

    static func bytes(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func gauges(_ environment: ServerEnvironment) async throws -> StoreGauges {
        let metadata = environment.reader.metadata
        var gauges = StoreGauges()
        let blobs = try await metadata.blobs()
        gauges.blobs = blobs.count
        gauges.mirroredBytes = blobs.reduce(0) { $0 + $1.size }
        gauges.rottenBlobs = blobs.filter { $0.state == .rotten }.count
        gauges.repos = try await metadata.repos().count
        gauges.verificationFailures = try await metadata.quarantineRecords().count
        if let jobs = environment.jobs { gauges.jobs = try await jobs.queue.counts() }
        return gauges
    }
}

/// Counts and times every request by a coarse route name (bounded label cardinality: repo
/// names and paths never become labels).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = Self.route(request.uri.path)
        do {
            let response = try await next(request, context)
            let seconds = Self.seconds(since: start)
            metrics.request(route: route, status: response.status.code, seconds: seconds)
            if response.status.code >= 400 {
                log(request, context: context, status: response.status.code, seconds: seconds,
                    code: response.headers[HTTPField.Name("X-Error-Code")!], error: nil)
            }
            return response
        } catch {
            let seconds = Self.seconds(since: start)
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: route, status: status, seconds: seconds)
            log(request, context: context, status: status, seconds: seconds, code: (error as? HubError)?.code?.rawValue,
                error: (error as? HubError)?.message ?? "\(error)")
            throw error
        }
    }

    /// A request that ended in an error: a server fault as an error, a client's (unknown
    /// repo, bad range, missing token) as info. The path without its query, never headers:
    /// the bearer token and any token a client sends stay out of the log.
    private func log(_ request: Request, context: Context, status: Int, seconds: Double, code: String?, error: String?) {
        var fields: Logger.Metadata = [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path),
            "status": .stringConvertible(status), "duration": .stringConvertible(seconds),
        ]
        if let code { fields["error_code"] = .string(code) }
        if let error { fields["error"] = .string(error) }
        context.logger.log(level: status >= 500 ? .error : .info, status >= 500 ? "request failed" : "request refused", metadata: fields)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func route(_ path: String) -> String {
        if path == "/" { return "page" }
        if path.hasPrefix("/api/models/") { return path.contains("/tree/") ? "tree" : "repo_info" }
        if path.hasPrefix("/api/lineage/") { return "lineage" }
        if path.hasPrefix("/api/mirror/") { return "admin" }
        if path == "/healthz" { return "healthz" }
        if path == "/metrics" { return "metrics" }
        if path.contains(".git/info/lfs/") { return "lfs" }
        if path.contains("/resolve/") { return "resolve" }
        return "other"
    }
}
