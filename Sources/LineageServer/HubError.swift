import HTTPTypes
import Hummingbird

/// An error answered the way the Hub answers it: a status, an `X-Error-Code` header that
/// huggingface_hub maps to its exception types (RepositoryNotFoundError,
/// RevisionNotFoundError, EntryNotFoundError), and a JSON body `{"error": message}`.
public struct HubError: Error, HTTPResponseError, Sendable {
    public enum Code: String, Sendable {
        case repoNotFound = "RepoNotFound"
        case revisionNotFound = "RevisionNotFound"
        case entryNotFound = "EntryNotFound"
    }

    public let status: HTTPResponse.Status
    public let code: Code?
    public let message: String

    public init(status: HTTPResponse.Status, code: Code?, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func repoNotFound(_ repo: String) -> HubError {
        HubError(status: .notFound, code: .repoNotFound, message: "Repository '\(repo)' is not in this mirror.")
    }

    public static func revisionNotFound(_ revision: String, repo: String) -> HubError {
        HubError(status: .notFound, code: .revisionNotFound,
                 message: "Invalid rev id: \(revision) (no branch, tag or mirrored commit of \(repo) has that name)")
    }

    public static func entryNotFound(_ path: String, repo: String, commit: String) -> HubError {
        HubError(status: .notFound, code: .entryNotFound, message: "\(path) does not exist in \(repo) at \(commit)")
    }

    public static func badRequest(_ message: String) -> HubError {
        HubError(status: .badRequest, code: nil, message: message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let code { fields[HTTPField.Name("X-Error-Code")!] = code.rawValue }
        fields[HTTPField.Name("X-Error-Message")!] = String(message.filter { $0.isASCII && !$0.isNewline }.prefix(300))
        // HEAD answers carry the headers only (huggingface_hub reads X-Error-Code from them).
        let body = request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: JSONText.object(["error": .string(message)])))
        return Response(status: status, headers: fields, body: body)
    }
}
