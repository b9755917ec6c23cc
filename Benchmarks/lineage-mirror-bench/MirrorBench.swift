import AsyncHTTPClient
import Foundation
import Logging
import ModelMirror

// Measures what inline SHA-256 costs the mirror's transfer path: the same HTTP downloads into
// the same staging files through the same code (HTTPDownloader -> StagedTransfer), once with
// the digest running over the bytes and once without.
//
//   lineage-mirror-bench transfer --out DIR [--no-hash] URL...
//
// Prints one JSON line: {"seconds": s, "bytes": n, "hash": true|false}.

struct Usage: Error, CustomStringConvertible {
    var description: String { "usage: lineage-mirror-bench transfer --out DIR [--no-hash] URL..." }
}

@main
struct MirrorBench {
    static func main() async throws {
        let (output, hashing, urls) = try parse()
        try await transfer(output: output, hashing: hashing, urls: urls)
    }

    static func parse() throws -> (URL, Bool, [String]) {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.first == "transfer" else { throw Usage() }
        arguments.removeFirst()
        var output: URL?
        var hashing = true
        var urls: [String] = []
        while let argument = arguments.first {
            arguments.removeFirst()
            switch argument {
            case "--out": output = arguments.first.map { URL(fileURLWithPath: $0) }; arguments = Array(arguments.dropFirst())
            case "--no-hash": hashing = false
            default: urls.append(argument)
            }
        }
        guard let output, !urls.isEmpty else { throw Usage() }
        return (output, hashing, urls)
    }

    static func transfer(output: URL, hashing: Bool, urls: [String]) async throws {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let logger = Logger(label: "lineage.mirror.bench")
        let downloader = HTTPDownloader(client: client, retry: RetryPolicy(maxAttempts: 1), logger: logger)
        let start = ContinuousClock.now
        let bytes = try await withThrowingTaskGroup(of: Int64.self) { group in
            for (index, url) in urls.enumerated() {
                let destination = output.appendingPathComponent("\(index).part")
                unlink(destination.path)
                group.addTask {
                    let transfer = try StagedTransfer(key: StagingKey(name: "bench-\(index)"), url: destination, gitSize: nil, digesting: hashing)
                    try await downloader.download(from: { HTTPSource(url: url) }, into: transfer, expectedSize: nil,
                                                  progress: { _ in }, onRetry: { _, _, _ in })
                    try transfer.flush()
                    return transfer.offset
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        try await client.shutdown()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("{\"seconds\": \(seconds), \"bytes\": \(bytes), \"hash\": \(hashing)}")
    }
}
