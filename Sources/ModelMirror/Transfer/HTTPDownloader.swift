import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A request to make: where, and with which headers (auth from a Hub token or an LFS action).
public struct HTTPSource: Sendable {
    public var url: String
    public var headers: [(String, String)]

    public init(url: String, headers: [(String, String)] = []) {
        self.url = url
        self.headers = headers
    }
}

/// Streams a URL into a staging file, resuming from the staged offset.
///
/// Follows the reference LFS client and huggingface_hub: resume with `Range: bytes=N-`,
/// accept a 206 only when its `Content-Range` starts at N, and take a 200 (the server ignored
/// the Range) as "start over". Faults it can recover from are retried with backoff, bounded
/// by ``RetryPolicy``; a fault that moved the transfer forward does not use up an attempt.
/// Redirects are followed by hand so that credentials go only to the same host.
package struct HTTPDownloader: Sendable {
    let client: HTTPClient
    let retry: RetryPolicy
    let logger: Logger
    /// How long a response may stay silent before the connection counts as dead.
    var readTimeout: TimeAmount = .seconds(60)

    /// Called before each attempt: a fresh source (an LFS action about to expire is renewed).
    package typealias SourceProvider = @Sendable () async throws -> HTTPSource

    package init(client: HTTPClient, retry: RetryPolicy, logger: Logger) {
        self.client = client
        self.retry = retry
        self.logger = logger
    }

    package func download(
        from provider: SourceProvider, into transfer: StagedTransfer, expectedSize: Int64?,
        progress: (Int64) -> Void, onRetry: (Int, String, Duration) -> Void
    ) async throws {
        var failures = 0
        var attempts = 0
        var lastURL = ""
        while true {
            attempts += 1
            let startOffset = transfer.offset
            let source = try await provider()
            lastURL = TransferError.redact(source.url)
            do {
                try await attempt(source, into: transfer, expectedSize: expectedSize, progress: progress)
                return
            } catch let fault as RetryableFault {
                if transfer.offset > startOffset { failures = 0 }
                failures += 1
                guard failures < retry.maxAttempts else {
                    throw TransferError(kind: .exhausted(attempts: attempts), url: lastURL, message: fault.message)
                }
                let delay = retry.delay(afterFailure: failures)
                logger.info("retrying transfer", metadata: [
                    "url": "\(lastURL)", "fault": "\(fault.message)", "attempt": "\(attempts + 1)", "staged": "\(transfer.offset)",
                ])
                onRetry(attempts + 1, fault.message, delay)
                try await Task.sleep(for: delay)
            } catch let error as BlobStoreError {
                throw error
            } catch let error as TransferError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A network error the client library raised (reset, refused, timeout): retry.
                if transfer.offset > startOffset { failures = 0 }
                failures += 1
                let message = "\(error)"
                guard failures < retry.maxAttempts else {
                    throw TransferError(kind: .exhausted(attempts: attempts), url: lastURL, message: message)
                }
                let delay = retry.delay(afterFailure: failures)
                onRetry(attempts + 1, message, delay)
                try await Task.sleep(for: delay)
            }
        }
    }

    struct RetryableFault: Error { let message: String }

    private func attempt(
        _ source: HTTPSource, into transfer: StagedTransfer, expectedSize: Int64?, progress: (Int64) -> Void
    ) async throws {
        if let expectedSize, transfer.offset > expectedSize {
            // More staged than the file has: the staged prefix cannot be this file's.
            try transfer.restart()
        }
        if let expectedSize, transfer.offset == expectedSize, expectedSize > 0 {
            return  // everything was staged by an earlier run; the digest decides.
        }
        let offset = transfer.offset
        let response = try await get(source, range: offset > 0 ? offset : nil)
        let status = Int(response.status.code)
        switch status {
        case 206:
            let contentRange = response.headers.first(name: "content-range") ?? ""
            guard offset > 0, contentRange.hasPrefix("bytes \(offset)-") else {
                try transfer.restart()
                throw RetryableFault(message: "206 with Content-Range '\(contentRange)' that does not start at the staged offset \(offset)")
            }
        case 200:
            if offset > 0 {
                // The server ignored the Range: its body is the whole file, so start over.
                logger.info("upstream answered a Range request with 200; restarting", metadata: ["url": "\(TransferError.redact(source.url))"])
                try transfer.restart()
                progress(-offset)
            }
        case 416:
            try transfer.restart()
            progress(-offset)
            throw RetryableFault(message: "HTTP 416 (range \(offset)- not satisfiable); the staged prefix was dropped")
        case 429, 500...599:
            throw RetryableFault(message: "HTTP \(status)\(Self.errorDetail(response))")
        default:
            throw TransferError(kind: .refused(status: status), url: TransferError.redact(source.url),
                                message: Self.refusalAdvice(status: status, response: response))
        }
        let declared = response.headers.first(name: "content-length").flatMap { Int64($0) }
        let total = declared.map { $0 + transfer.offset } ?? expectedSize
        var pending: Int64 = 0
        // The network is read by a task of its own, so reading the next chunk overlaps the
        // digest and write of this one.
        let pipe = ChunkPipe(limit: 8 << 20)
        let body = response.body
        let reader = Task {
            do {
                for try await buffer in body {
                    guard await pipe.send(buffer) else { break }
                }
                await pipe.finish(nil)
            } catch {
                await pipe.finish(error)
            }
        }
        defer { reader.cancel() }
        do {
            while let buffer = try await pipe.next() {
                try buffer.withUnsafeReadableBytes { (raw) throws(BlobStoreError) in try transfer.append(raw) }
                pending += Int64(buffer.readableBytes)
                if pending >= 4 << 20 {
                    progress(pending)
                    pending = 0
                }
                if let expectedSize, transfer.offset > expectedSize {
                    // Longer than promised: no point reading on, the size check will report it.
                    await pipe.abandon()
                    progress(pending)
                    return
                }
            }
        } catch {
            await pipe.abandon()
            progress(pending)
            throw error
        }
        progress(pending)
        if let total, transfer.offset < total {
            throw RetryableFault(message: "truncated body: the connection ended after \(transfer.offset) of \(total) bytes")
        }
    }

    /// GET with manual redirects (at most 5): credentials follow only to the same host.
    private func get(_ source: HTTPSource, range: Int64?) async throws -> HTTPClientResponse {
        var url = source.url
        var headers = source.headers
        for _ in 0..<6 {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let range { request.headers.replaceOrAdd(name: "Range", value: "bytes=\(range)-") }
            request.headers.replaceOrAdd(name: "Accept-Encoding", value: "identity")
            let response = try await client.execute(request, timeout: .hours(24), logger: logger)
            guard [301, 302, 303, 307, 308].contains(Int(response.status.code)),
                  let location = response.headers.first(name: "location") else { return response }
            let next = Self.resolve(location, against: url)
            if Self.host(of: next) != Self.host(of: url) {
                headers.removeAll { $0.0.lowercased() == "authorization" }
            }
            url = next
        }
        throw TransferError(kind: .refused(status: 310), url: TransferError.redact(source.url), message: "more than 5 redirects")
    }

    static func resolve(_ location: String, against base: String) -> String {
        if location.contains("://") { return location }
        guard let baseURL = URL(string: base), let resolved = URL(string: location, relativeTo: baseURL) else { return location }
        return resolved.absoluteString
    }

    static func host(of url: String) -> String? { URL(string: url)?.host?.lowercased() }

    static func errorDetail(_ response: HTTPClientResponse) -> String {
        if let code = response.headers.first(name: "x-error-code") { return " (\(code))" }
        return ""
    }

    static func refusalAdvice(status: Int, response: HTTPClientResponse) -> String {
        let code = response.headers.first(name: "x-error-code")
        let message = response.headers.first(name: "x-error-message")
        var text: String
        switch status {
        case 401: text = "unauthorized; set HF_TOKEN to a token that can read this repo"
        case 403: text = "forbidden; the token cannot read this repo (gated or private: accept its terms upstream)"
        case 404: text = "not found upstream"
        default: text = "refused by the upstream"
        }
        if let code { text += " [\(code)]" }
        if let message { text += ": \(message)" }
        return text
    }
}
