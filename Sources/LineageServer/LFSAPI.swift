import Foundation
import HTTPTypes
import Hummingbird
import ModelMirror

/// The Git LFS batch API and basic transfer, read-only, for every LFS object of a mirrored
/// repo: `git lfs` pointed at `http://host/{org}/{name}.git/info/lfs` fetches from the mirror.
///
/// - `POST /{org}/{name}.git/info/lfs/objects/batch` (download only; uploads get 403)
/// - `GET /{org}/{name}.git/info/lfs/objects/{oid}` (with `Range: bytes=N-` for resumes)
///
/// An object is served only under a repo whose published commits include it, so a repo's
/// endpoint never hands out another repo's files by oid.
struct LFSAPI<Context: RequestContext>: RouterMiddleware {
    let reader: MirrorReader
    let metrics: ServerMetrics
    static var mediaType: String { "application/vnd.git-lfs+json" }
    /// A batch request larger than this is refused (413): 10,000 objects fit in well under it.
    static var maxRequestBytes: Int { 4 << 20 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard segments.count == 6, segments[2] == "info", segments[3] == "lfs", segments[4] == "objects" else {
            return try await next(request, context)
        }
        var name = segments[1]
        if name.hasSuffix(".git") { name.removeLast(4) }
        let id: String
        do {
            id = try HubAPI<Context>.repoID(segments[0], name)
        } catch {
            return Self.error(.notFound, "repository \(segments[0])/\(name) is not in this mirror")
        }
        if segments[5] == "batch" {
            guard request.method == .post else { return Self.error(.methodNotAllowed, "the batch API takes POST") }
            return try await batch(id, request: request)
        }
        guard request.method == .get || request.method == .head else {
            return Self.error(.methodNotAllowed, "LFS objects are read with GET")
        }
        return try await download(id, oid: segments[5], request: request, context: context)
    }

    struct BatchRequest: Decodable {
        struct Object: Decodable {
            var oid: String
            var size: Int64
        }
        var operation: String
        var transfers: [String]?
        var objects: [Object]
        var hash_algo: String?
    }

    private func batch(_ id: String, request: Request) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxRequestBytes)
        } catch {
            return Self.error(.contentTooLarge, "a batch request may be at most \(Self.maxRequestBytes) bytes")
        }
        let parsed: BatchRequest
        do {
            parsed = try JSONDecoder().decode(BatchRequest.self, from: Data(buffer: body))
        } catch {
            return Self.error(.unprocessableContent, "malformed batch request: \(error)")
        }
        guard parsed.operation == "download" else {
            return Self.error(.forbidden, "this mirror is read-only: '\(parsed.operation)' is not allowed; push to the upstream instead")
        }
        if let transfers = parsed.transfers, !transfers.isEmpty, !transfers.contains("basic") {
            return Self.error(.unprocessableContent, "only the basic transfer is offered (asked for: \(transfers.joined(separator: ", ")))")
        }
        if let algorithm = parsed.hash_algo, algorithm != "sha256" {
            return Self.error(.conflict, "objects here are named by sha256, not \(algorithm)")
        }
        _ = try await reader.repo(id)
        let base = Self.baseURL(request) + "/\(id).git/info/lfs/objects/"
        var objects: [JSONValue] = []
        for object in parsed.objects {
            var fields: [(String, JSONValue)] = [("oid", .string(object.oid)), ("size", .int(object.size))]
            if let digest = SHA256Digest(hex: object.oid), object.size >= 0 {
                if let stored = try await storedObject(digest, in: id) {
                    if stored.size == object.size {
                        fields.append(("authenticated", .bool(true)))
                        fields.append(("actions", .object([("download", .object([
                            ("href", .string(base + digest.hex)), ("expires_in", .int(86400)),
                        ]))])))
                    } else {
                        fields.append(("error", Self.objectError(422, "size \(object.size) does not match the stored object's \(stored.size)")))
                    }
                } else {
                    fields.append(("error", Self.objectError(404, "object \(object.oid) is not mirrored for \(id)")))
                }
            } else {
                fields.append(("error", Self.objectError(422, "invalid object: oid must be 64 lowercase hex digits and size at least 0")))
            }
            objects.append(.object(fields))
        }
        let answer: JSONValue = .object([("transfer", .string("basic")), ("objects", .array(objects)), ("hash_algo", .string("sha256"))])
        return Response(status: .ok, headers: [.contentType: Self.mediaType],
                        body: .init(byteBuffer: ByteBuffer(string: JSONText.render(answer))))
    }

    /// The object's file record when a published commit of `repo` holds it.
    private func storedObject(_ digest: SHA256Digest, in repo: String) async throws -> BlobRecord? {
        guard try await reader.metadata.revisions(containing: digest).contains(where: { $0.repo == repo }),
              let record = try await reader.metadata.blob(digest), record.state != .rotten, reader.blobs.has(digest)
        else { return nil }
        return record
    }

    private func download(_ id: String, oid: String, request: Request, context: Context) async throws -> Response {
        guard let digest = SHA256Digest(hex: oid) else {
            return Self.error(.unprocessableContent, "invalid object id '\(oid.prefix(80))': expected 64 lowercase hex digits")
        }
        guard try await reader.metadata.repo(id) != nil else {
            return Self.error(.notFound, "repository \(id) is not in this mirror")
        }
        guard let record = try await storedObject(digest, in: id), let path = reader.blobs.localFile(digest) else {
            return Self.error(.notFound, "object \(oid) is not mirrored for \(id)")
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
        let range: ClosedRange<Int64>?
        switch ByteRange.parse(request.headers[.range], size: record.size) {
        case .whole: range = nil
        case .partial(let bytes): range = bytes
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(record.size)"
            headers[.contentLength] = "0"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? record.size
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(record.size)" }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        guard request.method == .get, length > 0 else { return Response(status: status, headers: headers) }
        let body = BlobBody.stream(path: path.path, range: range ?? 0...(record.size - 1))
        metrics.served(bytes: Int(length), route: "lfs")
        return Response(status: status, headers: headers, body: body)
    }

    /// `http://<Host>`, from the request, so the hrefs point where the client already reached us.
    static func baseURL(_ request: Request) -> String {
        let host = request.head.authority ?? "127.0.0.1"
        return "http://\(host)"
    }

    static func objectError(_ code: Int, _ message: String) -> JSONValue {
        .object([("code", .int(Int64(code))), ("message", .string(message))])
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: mediaType],
                 body: .init(byteBuffer: ByteBuffer(string: JSONText.object(["message": .string(message)]))))
    }
}
