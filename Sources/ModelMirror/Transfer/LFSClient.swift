import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Where a remote keeps its LFS objects.
public enum LFSEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The batch API at this URL (`…/info/lfs`).
    case http(String)
    /// A local remote in git-lfs's standalone layout: `<dir>/lfs/objects/aa/bb/<oid>`.
    case standalone(URL)

    public var description: String {
        switch self {
        case .http(let url): TransferError.redact(url)
        case .standalone(let url): url.path
        }
    }

    /// The endpoint rules of git-lfs: `lfs.url` (from .lfsconfig or the mirror's git config)
    /// wins; else `<remote>.git/info/lfs` for http(s) and ssh remotes, and the standalone
    /// layout for local paths and file:// URLs.
    public static func derive(remoteURL: String, lfsURL: String?) -> LFSEndpoint? {
        if let lfsURL, !lfsURL.isEmpty { return endpoint(forURL: lfsURL, isLFSURL: true) }
        return endpoint(forURL: remoteURL, isLFSURL: false)
    }

    private static func endpoint(forURL url: String, isLFSURL: Bool) -> LFSEndpoint? {
        if url.hasPrefix("file://") {
            let path = url.dropFirst("file://".count).removingPercentEncoding ?? String(url.dropFirst("file://".count))
            return .standalone(localRepositoryDirectory(URL(fileURLWithPath: path)))
        }
        if url.hasPrefix("/") || url.hasPrefix("./") || url.hasPrefix("../") {
            return .standalone(localRepositoryDirectory(URL(fileURLWithPath: url)))
        }
        if url.hasPrefix("https://") || url.hasPrefix("http://") {
            if isLFSURL { return .http(url.hasSuffix("/") ? String(url.dropLast()) : url) }
            var base = url.hasSuffix("/") ? String(url.dropLast()) : url
            if !base.hasSuffix(".git") { base += ".git" }
            return .http(base + "/info/lfs")
        }
        // ssh: git-lfs asks `git-lfs-authenticate` over ssh for an https endpoint; without
        // that round trip the endpoint it falls back to is https on the same host and path.
        var hostAndPath: Substring?
        if url.hasPrefix("ssh://") {
            hostAndPath = url.dropFirst("ssh://".count)
        } else if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
            hostAndPath = Substring(url[..<colon] + "/" + url[url.index(after: colon)...])
        }
        guard var rest = hostAndPath else { return nil }
        if let at = rest.firstIndex(of: "@"), rest[..<at].firstIndex(of: "/") == nil { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/"), let colon = rest[..<slash].firstIndex(of: ":") {
            rest = rest[..<colon] + rest[slash...]  // drop an ssh port
        }
        var base = "https://" + rest
        if base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix(".git") { base += ".git" }
        return .http(base + "/info/lfs")
    }

    /// A bare repo keeps its objects in `lfs/`, a working copy in `.git/lfs/`.
    static func localRepositoryDirectory(_ url: URL) -> URL {
        let dotGit = url.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory), isDirectory.boolValue { return dotGit }
        return url
    }

    func standaloneObject(_ oid: SHA256Digest, in directory: URL) -> URL {
        directory.appendingPathComponent("lfs/objects/\(oid.hex.prefix(2))/\(oid.hex.dropFirst(2).prefix(2))/\(oid.hex)")
    }
}

/// A download action from the batch API: where to GET the object, with which headers, until
/// when.
public struct LFSAction: Sendable {
    public var href: String
    public var headers: [String: String]
    public var expiresAt: Date?

    /// Treat an action as spent a little before its deadline, so a GET does not start on a
    /// link that dies in flight.
    func isFresh(now: Date = Date()) -> Bool {
        guard let expiresAt else { return true }
        return expiresAt.timeIntervalSince(now) > 5
    }
}

public struct LFSObjectError: Error, Sendable, CustomStringConvertible {
    public let oid: String
    public let code: Int
    public let message: String

    public var description: String {
        let meaning = switch code {
        case 404: "the LFS server does not have this object"
        case 409: "the LFS server uses another hash algorithm"
        case 410: "the object was removed from the LFS server"
        case 422: "the LFS server finds the object invalid"
        default: "the LFS server refused the object"
        }
        return "\(meaning) (LFS error \(code): \(message)) for oid \(oid)"
    }
}

/// The Git LFS batch API, download side, basic transfer (git-lfs docs/api/batch.md).
struct LFSBatchClient: Sendable {
    let client: HTTPClient
    let retry: RetryPolicy
    let logger: Logger

    static let mediaType = "application/vnd.git-lfs+json"

    struct BatchError: Error, CustomStringConvertible {
        let description: String
    }

    /// Asks for download actions for `objects` (at most 100 per request, like git-lfs).
    func download(
        endpoint: String, objects: [LFSPointer], ref: String?, headers: [(String, String)]
    ) async throws -> [SHA256Digest: Result<LFSAction, LFSObjectError>] {
        var results: [SHA256Digest: Result<LFSAction, LFSObjectError>] = [:]
        var start = 0
        while start < objects.count {
            let chunk = Array(objects[start..<min(start + 100, objects.count)])
            for (oid, result) in try await request(endpoint: endpoint, objects: chunk, ref: ref, headers: headers) {
                results[oid] = result
            }
            start += chunk.count
        }
        return results
    }

    private func request(
        endpoint: String, objects: [LFSPointer], ref: String?, headers: [(String, String)]
    ) async throws -> [SHA256Digest: Result<LFSAction, LFSObjectError>] {
        var body: [String: Any] = [
            "operation": "download",
            "transfers": ["basic"],
            "objects": objects.map { ["oid": $0.oid.hex, "size": $0.size] },
            "hash_algo": "sha256",
        ]
        if let ref { body["ref"] = ["name": ref.hasPrefix("refs/") ? ref : "refs/heads/\(ref)"] }
        let payload = try JSONSerialization.data(withJSONObject: body)
        let url = endpoint + "/objects/batch"
        var failures = 0
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Accept", value: Self.mediaType)
            request.headers.add(name: "Content-Type", value: Self.mediaType)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: payload))
            let status: Int
            let responseBody: ByteBuffer
            let responseHeaders: HTTPClientResponse
            do {
                let response = try await client.execute(request, timeout: .seconds(120), logger: logger)
                status = Int(response.status.code)
                responseHeaders = response
                responseBody = try await response.body.collect(upTo: 64 << 20)
            } catch {
                failures += 1
                guard failures < retry.maxAttempts else {
                    throw BatchError(description: "LFS batch request to \(TransferError.redact(url)) failed after \(failures) attempts: \(error)")
                }
                try await Task.sleep(for: retry.delay(afterFailure: failures))
                continue
            }
            let receivedAt = Date()
            if status == 200 {
                return try Self.parse(responseBody, receivedAt: receivedAt, url: url)
            }
            let message = (try? JSONSerialization.jsonObject(with: Data(responseBody.readableBytesView)) as? [String: Any])?["message"] as? String
            if status >= 500 || status == 429 {
                failures += 1
                if failures < retry.maxAttempts {
                    try await Task.sleep(for: retry.delay(afterFailure: failures))
                    continue
                }
            }
            var text = "LFS batch request to \(TransferError.redact(url)) answered HTTP \(status)"
            if let message { text += ": \(message)" }
            switch status {
            case 401:
                text += "; it needs credentials"
                if let challenge = responseHeaders.headers.first(name: "lfs-authenticate") { text += " (LFS-Authenticate: \(challenge))" }
                text += ". Set HF_TOKEN for a Hub remote"
            case 403: text += "; the credentials may not read this repo"
            case 404: text += "; the remote has no LFS endpoint there (set lfs.url in .lfsconfig?)"
            default: if status >= 500 || status == 429 { text += " \(failures) times" }
            }
            throw BatchError(description: text)
        }
    }

    static func parse(_ body: ByteBuffer, receivedAt: Date, url: String) throws -> [SHA256Digest: Result<LFSAction, LFSObjectError>] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let objects = json["objects"] as? [[String: Any]] else {
            throw BatchError(description: "LFS batch response from \(TransferError.redact(url)) is not the batch JSON (no 'objects' array)")
        }
        if let transfer = json["transfer"] as? String, transfer != "basic" {
            throw BatchError(description: "LFS server at \(TransferError.redact(url)) chose transfer '\(transfer)'; lineage speaks 'basic' only")
        }
        var results: [SHA256Digest: Result<LFSAction, LFSObjectError>] = [:]
        for object in objects {
            guard let oidText = object["oid"] as? String, let oid = SHA256Digest(hex: oidText) else { continue }
            if let error = object["error"] as? [String: Any] {
                results[oid] = .failure(LFSObjectError(oid: oidText, code: (error["code"] as? Int) ?? 0,
                                                       message: (error["message"] as? String) ?? ""))
                continue
            }
            guard let actions = object["actions"] as? [String: Any], let download = actions["download"] as? [String: Any],
                  let href = download["href"] as? String else {
                results[oid] = .failure(LFSObjectError(oid: oidText, code: 0, message: "no download action in the batch response"))
                continue
            }
            var headers: [String: String] = [:]
            for (name, value) in (download["header"] as? [String: Any]) ?? [:] {
                if let value = value as? String { headers[name] = value }
            }
            // expires_in (seconds from now) wins over expires_at (RFC 3339), as in the spec.
            var expiresAt: Date?
            if let seconds = (download["expires_in"] as? NSNumber)?.doubleValue, seconds != 0 {
                expiresAt = receivedAt.addingTimeInterval(seconds)
            } else if let stamp = download["expires_at"] as? String, !stamp.hasPrefix("0001-01-01") {
                expiresAt = Self.parseRFC3339(stamp)
            }
            results[oid] = .success(LFSAction(href: href, headers: headers, expiresAt: expiresAt))
        }
        return results
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
