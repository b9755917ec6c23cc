import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// GET of a small JSON document (Hub API), retried on 5xx/429 and network faults.
struct HTTPJSON: Sendable {
    let client: HTTPClient
    let retry: RetryPolicy
    let logger: Logger

    struct Response {
        let status: Int
        let json: Any?
        let headers: [(String, String)]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// Follows up to 5 redirects (olah redirects `/tree/<rev>` to `/tree/<rev>/`); credentials
    /// follow only to the same host.
    func get(_ url: String, headers: [(String, String)]) async throws -> Response {
        var url = url
        var headers = headers
        for _ in 0..<6 {
            let response = try await getOnce(url, headers: headers)
            guard [301, 302, 303, 307, 308].contains(response.status), let location = response.header("location") else {
                return response
            }
            let next = HTTPDownloader.resolve(location, against: url)
            if HTTPDownloader.host(of: next) != HTTPDownloader.host(of: url) {
                headers.removeAll { $0.0.lowercased() == "authorization" }
            }
            url = next
        }
        throw TransferError(kind: .refused(status: 310), url: TransferError.redact(url), message: "more than 5 redirects")
    }

    private func getOnce(_ url: String, headers: [(String, String)]) async throws -> Response {
        var failures = 0
        while true {
            var request = HTTPClientRequest(url: url)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.headers.add(name: "Accept", value: "application/json")
            do {
                let response = try await client.execute(request, timeout: .seconds(120), logger: logger)
                let status = Int(response.status.code)
                let body = try await response.body.collect(upTo: 256 << 20)
                if status >= 500 || status == 429 {
                    failures += 1
                    if failures < retry.maxAttempts {
                        try await Task.sleep(for: retry.delay(afterFailure: failures))
                        continue
                    }
                }
                let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed])
                return Response(status: status, json: json, headers: response.headers.map { ($0.name, $0.value) })
            } catch let error as CancellationError {
                throw error
            } catch {
                failures += 1
                guard failures < retry.maxAttempts else {
                    throw TransferError(kind: .exhausted(attempts: failures), url: TransferError.redact(url), message: "\(error)")
                }
                try await Task.sleep(for: retry.delay(afterFailure: failures))
            }
        }
    }
}
