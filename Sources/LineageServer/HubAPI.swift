import Foundation
import HTTPTypes
import Hummingbird
import ModelMirror

/// The Hugging Face Hub read API over the mirror, as huggingface_hub uses it:
///
/// - `GET /api/models/{org}/{name}` and `.../revision/{rev}` (`?blobs=true`): repo info
/// - `GET /api/models/{org}/{name}/tree/{rev}[/{path}]` (`?recursive=true`, paginated with `Link`)
/// - `HEAD|GET /{org}/{name}/resolve/{rev}/{path}`: file metadata and bytes, `Range` with 206
///
/// A middleware over the raw (still percent-encoded) path rather than router patterns: a
/// revision may be `refs%2Fpr%2F1` and a file path has any number of segments, and each
/// segment is decoded exactly once here, then checked, before it is looked up.
struct HubAPI<Context: RequestContext>: RouterMiddleware {
    let reader: MirrorReader
    let metrics: ServerMetrics
    /// Entries per tree page (the Hub's own page size for recursive listings).
    let treePageSize: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if segments.count >= 4, segments[0] == "api", segments[1] == "models" {
            guard request.method == .get || request.method == .head else { throw HTTPError(.methodNotAllowed) }
            return try await api(Array(segments.dropFirst(2)), request: request)
        }
        if segments.count >= 5, segments[2] == "resolve" {
            guard request.method == .get || request.method == .head else { throw HTTPError(.methodNotAllowed) }
            return try await resolve(segments, request: request, context: context)
        }
        return try await next(request, context)
    }

    // MARK: Repo info and tree

    private func api(_ segments: [String], request: Request) async throws -> Response {
        let id = try Self.repoID(segments[0], segments[1])
        let query = request.uri.queryParameters
        if segments.count == 2 {
            return try await info(id, revision: nil, blobs: Self.flag(query["blobs"]))
        }
        switch segments[2] {
        case "revision" where segments.count >= 4:
            // The revision may arrive encoded (`refs%2Fpr%2F1`) or not (`refs/pr/1`).
            let revision = try segments[3...].map(Self.decode).joined(separator: "/")
            return try await info(id, revision: revision, blobs: Self.flag(query["blobs"]))
        case "tree" where segments.count >= 4:
            let revision = try Self.decode(segments[3])
            let path = try segments.dropFirst(4).map(Self.decode).filter { !$0.isEmpty }
            return try await tree(id, revision: revision, path: path, request: request)
        default:
            throw HubError(status: .notFound, code: nil, message: "no such API route: \(request.uri.path)")
        }
    }

    private func info(_ id: String, revision: String?, blobs: Bool) async throws -> Response {
        let snapshot = try await reader.snapshot(id, revision: revision)
        let siblings: [JSONValue] = snapshot.files.map { file in
            var fields: [(String, JSONValue)] = [("rfilename", .string(file.path))]
            if blobs {
                fields.append(("size", .int(file.size)))
                fields.append(("blobId", .string(file.gitOID ?? file.blob.hex)))
                if let oid = file.lfsOID {
                    fields.append(("lfs", .object([("sha256", .string(oid.hex)), ("size", .int(file.size)),
                                                   ("pointerSize", .int(Int64(MirrorReader.pointerSize(oid: oid, size: file.size))))])))
                }
            }
            return .object(fields)
        }
        let modified = Self.iso8601(snapshot.syncedAt)
        let author = String(id.split(separator: "/").first ?? "")
        let body: JSONValue = .object([
            ("_id", .string(id)), ("id", .string(id)), ("modelId", .string(id)), ("author", .string(author)),
            ("sha", .string(snapshot.commit)), ("lastModified", .string(modified)),
            ("createdAt", .string(Self.iso8601(snapshot.repo.addedAt))),
            ("private", .bool(false)), ("disabled", .bool(false)), ("gated", .bool(false)),
            ("downloads", .int(0)), ("likes", .int(0)), ("tags", .array([])),
            ("siblings", .array(siblings)),
        ])
        return Self.json(body, commit: snapshot.commit)
    }

    private func tree(_ id: String, revision: String, path: [String], request: Request) async throws -> Response {
        let snapshot = try await reader.snapshot(id, revision: revision)
        let directory: String
        do {
            directory = try path.isEmpty ? "" : RepoPath(path.joined(separator: "/")).string
        } catch {
            throw HubError.badRequest("invalid path \(path.joined(separator: "/").debugDescription): \(error.reason)")
        }
        let query = request.uri.queryParameters
        let recursive = Self.flag(query["recursive"])
        let tree = DirectoryTree(files: snapshot.files)
        guard tree.treeIDs[directory] != nil else {
            throw HubError.entryNotFound(directory, repo: id, commit: snapshot.commit)
        }
        var entries: [JSONValue] = []
        func list(_ directory: String) {
            let directories = (tree.childDirectories[directory] ?? []).map { ($0, true) }
            let files = (tree.childFiles[directory] ?? []).map { ($0.path, false) }
            for (path, isDirectory) in (directories + files).sorted(by: { $0.0 < $1.0 }) {
                if isDirectory {
                    entries.append(.object([("type", .string("directory")), ("oid", .string(tree.treeIDs[path] ?? "")),
                                            ("size", .int(0)), ("path", .string(path))]))
                    if recursive { list(path) }
                } else if let file = tree.childFiles[directory]?.first(where: { $0.path == path }) {
                    var fields: [(String, JSONValue)] = [
                        ("type", .string("file")), ("oid", .string(file.gitOID ?? file.blob.hex)),
                        ("size", .int(file.size)), ("path", .string(file.path)),
                    ]
                    if let oid = file.lfsOID {
                        fields.append(("lfs", .object([("oid", .string(oid.hex)), ("size", .int(file.size)),
                                                       ("pointerSize", .int(Int64(MirrorReader.pointerSize(oid: oid, size: file.size))))])))
                    }
                    entries.append(.object(fields))
                }
            }
        }
        list(directory)
        // Pagination: the cursor is the offset of the page's first entry, opaque to clients,
        // who follow the `Link: <...>; rel="next"` header as the Hub's own pages ask them to.
        let limit = min(max(query["limit"].flatMap { Int($0) } ?? treePageSize, 1), treePageSize)
        let start = query["cursor"].flatMap { Int($0) } ?? 0
        guard start >= 0, start <= entries.count else { throw HubError.badRequest("invalid cursor '\(query["cursor"] ?? "")'") }
        let end = min(start + limit, entries.count)
        var response = Self.json(.array(Array(entries[start..<end])), commit: snapshot.commit)
        if end < entries.count {
            var next = request.uri.path + "?"
            var parameters = query.filter { $0.key != "cursor" }.map { "\($0.key)=\(Self.encodeQuery(String($0.value)))" }
            parameters.append("cursor=\(end)")
            next += parameters.joined(separator: "&")
            response.headers[HTTPField.Name("Link")!] = "<\(next)>; rel=\"next\""
        }
        return response
    }

    // MARK: Resolve

    private func resolve(_ segments: [String], request: Request, context: Context) async throws -> Response {
        let id = try Self.repoID(segments[0], segments[1])
        let revision = try Self.decode(segments[3])
        let rawPath = try segments.dropFirst(4).map(Self.decode).joined(separator: "/")
        let path: RepoPath
        do {
            path = try RepoPath(rawPath)
        } catch {
            throw HubError.badRequest("invalid file path \(rawPath.debugDescription): \(error.reason)")
        }
        let snapshot = try await reader.snapshot(id, revision: revision)
        guard let file = snapshot.files.first(where: { $0.path == path.string }) else {
            throw HubError.entryNotFound(path.string, repo: id, commit: snapshot.commit)
        }
        let blob = try await reader.servable(file, repo: id)
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .acceptRanges: "bytes",
            .eTag: "\"\(file.etag)\"",
            HTTPField.Name("X-Repo-Commit")!: snapshot.commit,
            HTTPField.Name("X-Linked-Etag")!: "\"\(file.etag)\"",
            HTTPField.Name("X-Linked-Size")!: String(file.size),
            .contentDisposition: "attachment; filename=\"\(path.fileName.filter { $0 != "\"" && $0.isASCII })\"",
        ]
        let range: ClosedRange<Int64>?
        switch ByteRange.parse(request.headers[.range], size: file.size) {
        case .whole: range = nil
        case .partial(let bytes): range = bytes
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(file.size)"
            headers[HTTPField.Name("X-Error-Code")!] = "RangeNotSatisfiable"
            headers[.contentLength] = "0"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? file.size
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(file.size)" }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        guard request.method == .get, length > 0 else { return Response(status: status, headers: headers) }
        let body = BlobBody.stream(path: blob.path, range: range ?? 0...(file.size - 1))
        metrics.served(bytes: Int(length), route: "resolve")
        return Response(status: status, headers: headers, body: body)
    }

    // MARK: Helpers

    static func repoID(_ org: String, _ name: String) throws -> String {
        let id = "\(try decode(org))/\(try decode(name))"
        do {
            return try RepoID.validate(id)
        } catch {
            throw HubError(status: .notFound, code: .repoNotFound, message: error.description)
        }
    }

    static func decode(_ segment: String) throws -> String {
        // Every `%` must start an escape: Foundation lets some malformed ones through as text.
        let bytes = Array(segment.utf8)
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "%") {
            guard index + 2 < bytes.count, Self.isHex(bytes[index + 1]), Self.isHex(bytes[index + 2]) else {
                throw HubError.badRequest("malformed percent-encoding in '\(segment)'")
            }
        }
        guard let decoded = segment.removingPercentEncoding else {
            throw HubError.badRequest("malformed percent-encoding in '\(segment)'")
        }
        guard !decoded.contains("\0") else { throw HubError.badRequest("a NUL byte in a path segment") }
        return decoded
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }

    static func flag(_ value: Substring?) -> Bool {
        guard let value else { return false }
        return ["1", "true", "True", "yes"].contains(value)
    }

    static func encodeQuery(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? value
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func json(_ value: JSONValue, commit: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let commit { headers[HTTPField.Name("X-Repo-Commit")!] = commit }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONText.render(value))))
    }
}

/// An HTTP `Range` header against a file of known size (single ranges only, as the Hub
/// serves; a multi-range request gets the whole file, which RFC 9110 allows).
enum ByteRange: Equatable {
    case whole
    case partial(ClosedRange<Int64>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // A suffix: the last N bytes.
            guard let count = Int64(last), count > 0 else { return .unsatisfiable }
            guard size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - count)...(size - 1))
        }
        guard let start = Int64(first), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        var end = size - 1
        if !last.isEmpty {
            guard let requested = Int64(last), requested >= start else { return .whole }
            end = min(requested, size - 1)
        }
        return .partial(start...end)
    }
}
