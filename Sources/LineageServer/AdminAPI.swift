import Foundation
import HTTPTypes
import Hummingbird
import ModelIngest
import ModelMirror

/// Endpoints that change state, behind the bearer token the configuration names:
///
/// - `POST /api/mirror/repos` `{"id": "org/name", "source": "hub"|"git", "url"?: …, "revision"?: …,
///   "include"?: […], "exclude"?: […]}`: track a repo (and queue its first sync)
/// - `POST /api/mirror/repos/{org}/{name}/sync`: queue a sync now, one job per configured
///   revision (`job` is the first, `jobs` all of them)
///
/// and, open to all, `GET /api/mirror/jobs`: the queue.
struct AdminAPI: Sendable {
    let queue: SQLiteJobQueue
    let mirror: MirrorService
    let settings: LiveSettings

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/mirror/jobs") { _, _ in
            let jobs = try await queue.jobs()
            let formatter = ISO8601DateFormatter()
            let body: JSONValue = .array(jobs.map { job in
                .object([
                    ("id", .int(job.id)), ("kind", .string(job.kind.rawValue)), ("repo", .string(job.repo)),
                    ("revision", job.kind == .sync && !job.payload.isEmpty ? .string(job.payload) : .null),
                    ("state", .string(job.state.rawValue)), ("attempts", .int(Int64(job.attempts))),
                    ("run_after", .string(formatter.string(from: job.runAfter))),
                    ("last_error", job.lastError.map(JSONValue.string) ?? .null),
                    ("finished_at", job.finishedAt.map { .string(formatter.string(from: $0)) } ?? .null),
                ])
            })
            return HubAPI<BasicRequestContext>.json(body)
        }
        let admin = router.group("/api/mirror").add(middleware: BearerTokenMiddleware(settings: settings))
        admin.post("/repos") { request, context in
            let body = try await request.body.collect(upTo: 64 * 1024)
            struct Add: Decodable {
                var id: String
                var source: String?
                var url: String?
                var revision: String?
                var include: [String]?
                var exclude: [String]?
                var quantize: [String]?
            }
            let add: Add
            do {
                add = try JSONDecoder().decode(Add.self, from: Data(buffer: body))
            } catch {
                throw HubError.badRequest("malformed request: \(error); send {\"id\": \"org/name\", \"source\": \"hub\"}")
            }
            var source: SourceKind?
            if let name = add.source {
                guard let kind = SourceKind(rawValue: name) else { throw HubError.badRequest("unknown source '\(name)' (hub, git)") }
                source = kind
            }
            let repo: MirrorRepo
            do {
                repo = try await mirror.add(add.url ?? add.id, source: source ?? (add.url == nil ? .hub : .git),
                                            as: add.url == nil ? nil : add.id, revision: add.revision,
                                            include: add.include ?? [], exclude: add.exclude ?? [],
                                            quantize: try QuantizeIngest.presetNames(add.quantize ?? []))
            } catch {
                throw HubError.badRequest("\(error)")
            }
            let job = try await queue.enqueue(.sync, repo: repo.id)
            return HubAPI<BasicRequestContext>.json(.object([("repo", .string(repo.id)), ("job", .int(job)), ("jobs", .array([.int(job)]))]))
        }
        admin.post("/repos/:org/:name/sync") { _, context in
            let id = try HubAPI<BasicRequestContext>.repoID(context.parameters.require("org"), context.parameters.require("name"))
            guard try await mirror.metadata.repo(id) != nil else { throw HubError.repoNotFound(id) }
            // Every revision the configuration lists for the repo, each its own job.
            var jobs: [Int64] = []
            for revision in await settings.configuration.syncPayloads(for: id) {
                jobs.append(try await queue.enqueue(.sync, repo: id, payload: revision))
            }
            return HubAPI<BasicRequestContext>.json(.object([("repo", .string(id)), ("job", .int(jobs[0])), ("jobs", .array(jobs.map(JSONValue.int)))]))
        }
    }
}

/// Requires `Authorization: Bearer <token>` equal to the configured admin token (compared
/// in constant time). With no token configured, state-changing endpoints are closed.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let settings: LiveSettings

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let expected = await settings.adminToken else {
            throw HubError(status: .forbidden, code: nil,
                           message: "no admin token is configured: set the variable named by admin_token_env to enable this endpoint")
        }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), Self.equal(Array(header.dropFirst(7).utf8), Array(expected.utf8)) else {
            var response = try HubError(status: .unauthorized, code: nil, message: "this endpoint needs Authorization: Bearer <admin token>")
                .response(from: request, context: context)
            response.headers[.wwwAuthenticate] = "Bearer realm=\"lineage\""
            return response
        }
        return try await next(request, context)
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
