import AsyncHTTPClient
import Foundation
import Logging

/// The Hugging Face Hub HTTP API (or a server that speaks it, such as olah): revision ->
/// commit, the recursive paginated tree at that commit, then `resolve` for each file with the
/// commit as the revision. Plain HTTP only: no Xet.
struct HubSource: UpstreamSource {
    let repo: MirrorRepo
    let endpoint: String
    /// HF_TOKEN; sent as a bearer token, never logged.
    let token: String?
    let client: HTTPClient
    let retry: RetryPolicy
    let logger: Logger

    struct HubError: Error, CustomStringConvertible {
        let description: String
    }

    private var authHeaders: [(String, String)] {
        var headers = [("User-Agent", "lineage-mirror/0.1")]
        if let token, !token.isEmpty { headers.append(("Authorization", "Bearer \(token)")) }
        return headers
    }

    private var json: HTTPJSON { HTTPJSON(client: client, retry: retry, logger: logger) }

    func snapshot() async throws -> UpstreamSnapshot {
        let revision = repo.revision ?? "main"
        let commit: String
        if GitObjectID(hex: revision) != nil {
            commit = revision
        } else {
            let url = "\(endpoint)/api/models/\(repo.upstreamID)/revision/\(Self.encodeComponent(revision))"
            let response = try await json.get(url, headers: authHeaders)
            guard response.status == 200, let info = response.json as? [String: Any], let sha = info["sha"] as? String,
                  GitObjectID(hex: sha) != nil else {
                throw HubError(description: Self.explain(response, what: "resolve revision '\(revision)' of \(repo.upstreamID)", url: url))
            }
            commit = sha
        }
        var snapshot = UpstreamSnapshot(commit: commit, ref: revision, files: [], refused: [], skipped: [])
        var next: String? = "\(endpoint)/api/models/\(repo.upstreamID)/tree/\(commit)?recursive=true"
        var pages = 0
        while let url = next {
            pages += 1
            guard pages <= 10_000 else { throw HubError(description: "the tree of \(repo.upstreamID)@\(commit) has more than 10,000 pages; refusing to follow more") }
            let response = try await json.get(url, headers: authHeaders)
            guard response.status == 200, let entries = response.json as? [[String: Any]] else {
                throw HubError(description: Self.explain(response, what: "list the files of \(repo.upstreamID)@\(commit)", url: url))
            }
            for entry in entries where (entry["type"] as? String) == "file" {
                guard let rawPath = entry["path"] as? String else { continue }
                let path: RepoPath
                do {
                    path = try RepoPath(rawPath)
                } catch {
                    snapshot.refused.append((rawPath, error.reason))
                    continue
                }
                let oid = (entry["oid"] as? String).flatMap { GitObjectID(hex: $0) }
                if let lfs = entry["lfs"] as? [String: Any] {
                    // The tree says `oid`, the repo-info API says `sha256`: accept both.
                    let oidText = (lfs["oid"] as? String) ?? (lfs["sha256"] as? String) ?? ""
                    guard let sha = SHA256Digest(hex: oidText) else {
                        snapshot.refused.append((rawPath, "LFS oid '\(oidText)' is not 64 lowercase hex digits"))
                        continue
                    }
                    guard let size = (lfs["size"] as? NSNumber)?.int64Value, size >= 0 else {
                        snapshot.refused.append((rawPath, "LFS entry has no valid size"))
                        continue
                    }
                    snapshot.files.append(UpstreamFile(path: path, size: size, treeOID: oid, lfs: LFSPointer(oid: sha, size: size)))
                } else {
                    guard let oid else {
                        snapshot.refused.append((rawPath, "tree entry has no git oid to check the file against"))
                        continue
                    }
                    guard let size = (entry["size"] as? NSNumber)?.int64Value, size >= 0 else {
                        snapshot.refused.append((rawPath, "tree entry has no valid size"))
                        continue
                    }
                    snapshot.files.append(UpstreamFile(path: path, size: size, treeOID: oid, lfs: nil))
                }
            }
            next = response.header("link").flatMap { Self.nextLink($0, base: url) }
        }
        return snapshot
    }

    func prepare(_ files: [UpstreamFile], ref: String) async -> [RepoPath: String] { [:] }

    func fetch(_ file: UpstreamFile, commit: String, into transfer: StagedTransfer, reporter: FetchReporter) async throws {
        let url = "\(endpoint)/\(repo.upstreamID)/resolve/\(commit)/\(file.path.components.map(Self.encodeComponent).joined(separator: "/"))"
        let source = HTTPSource(url: url, headers: authHeaders)
        let downloader = HTTPDownloader(client: client, retry: retry, logger: logger)
        try await downloader.download(from: { source }, into: transfer, expectedSize: file.size,
                                      progress: reporter.progress, onRetry: reporter.retry)
    }

    /// `Link: <https://…?cursor=…>; rel="next"` (RFC 8288), possibly among other links.
    static func nextLink(_ header: String, base: String) -> String? {
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            if pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: "\"", with: "") == "rel=next" }) {
                return HTTPDownloader.resolve(String(target.dropFirst().dropLast()), against: base)
            }
        }
        return nil
    }

    static func encodeComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func explain(_ response: HTTPJSON.Response, what: String, url: String) -> String {
        var text = "cannot \(what): \(TransferError.redact(url)) answered HTTP \(response.status)"
        if let code = response.header("x-error-code") {
            text += " [\(code)]"
            switch code {
            case "RepoNotFound": text += "; check the repo id, or set HF_TOKEN if it is private"
            case "RevisionNotFound": text += "; check --revision"
            case "GatedRepo": text += "; accept the repo's terms upstream and set HF_TOKEN"
            default: break
            }
        } else if response.status == 401 || response.status == 403 {
            text += "; set HF_TOKEN to a token that can read this repo"
        }
        if let message = response.header("x-error-message") { text += ": \(message)" }
        else if let body = response.json as? [String: Any], let error = body["error"] as? String { text += ": \(error)" }
        return text
    }
}
