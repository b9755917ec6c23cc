import AsyncHTTPClient
import NIOHTTP1
import Crypto
import Foundation
import LineageTestSupport
import Hummingbird
import LineageImport
import LineageServer
import LineageStore
import Logging
import ModelMirror
import NIOCore
import ServiceLifecycle
import Testing

/// A store with mirrored repos written through the mirror's own store APIs, and the server on
/// it, listening on a free port of 127.0.0.1 and spoken to over real HTTP.
final class TestServer: Sendable {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let store: URL
    let metadata: SQLiteMirrorMetadata
    let blobs: LocalBlobStore
    let port: Int
    let client: HTTPClient
    private let group: ServiceGroup
    private let task: Task<Void, Error>

    var base: String { "http://127.0.0.1:\(port)" }

    init(treePageSize: Int = 1000, adminToken: String? = nil) async throws {
        store = TestSupport.scratchURL("lineage-server")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        metadata = try SQLiteMirrorMetadata(storeDirectory: store)
        blobs = try LocalBlobStore(root: store)
        let lineage = try LineageStore(directory: store)
        let catalog = try CatalogLoader.load(directory: Self.packageRoot.appendingPathComponent("Graph"))
        try lineage.replaceCatalog(with: catalog.batch, digest: catalog.digest, fileCount: catalog.fileCount)
        var configuration = DaemonConfiguration()
        configuration.adminTokenEnv = "LINEAGE_TEST_ADMIN_TOKEN"
        let environment = ServerEnvironment(
            reader: MirrorReader(metadata: metadata, blobs: blobs),
            lineage: LineageView(storeDirectory: store, load: { try lineage.loadGraph() }),
            metrics: ServerMetrics(),
            settings: LiveSettings(configuration: configuration, environment: adminToken.map { ["LINEAGE_TEST_ADMIN_TOKEN": $0] } ?? [:]),
            treePageSize: treePageSize)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: LineageHTTP.router(environment),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "test-server"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: application)], logger: Logger(label: "test-group")))
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.decompression = .disabled
        // Concurrent requests are concurrent clients, each on a connection of its own, as
        // real clients would be: with the default pool of 8 the rest queue for a connection,
        // and on a busy test machine the queue outlasted the request timeout.
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    }

    /// Runs `body` against a new server and stops it whether `body` succeeds or throws: a
    /// server left running (its HTTP client unshut) would crash the whole test process.
    static func with<T>(_ body: (TestServer) async throws -> T) async throws -> T {
        let server = try await TestServer()
        do {
            let result = try await body(server)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }

    func stop() async throws {
        try await client.shutdown()
        await group.triggerGracefulShutdown()
        try await task.value
        try? FileManager.default.removeItem(at: store)
    }

    struct FileSpec {
        var path: String
        var bytes: [UInt8]
        var lfs: Bool
    }

    /// Stores the files' bytes (verified by the blob store as the mirror does) and publishes
    /// them as `commit` of `repo`, with `ref` pointing at it. Returns the published files.
    @discardableResult
    func publish(_ repo: String, commit: String, ref: String, files: [FileSpec]) async throws -> [MirroredFile] {
        if try await metadata.repo(repo) == nil {
            try await metadata.upsertRepo(MirrorRepo(id: repo, source: .git, url: "/nowhere/\(repo)", upstreamID: repo, revision: nil,
                                                     include: [], exclude: [], addedAt: Date()))
        }
        var published: [MirroredFile] = []
        for file in files {
            let digest = ModelMirror.SHA256Digest(hex: Self.sha256(file.bytes))!
            let staged = try blobs.stage(.sha256(digest), gitSize: Int64(file.bytes.count))
            try staged.append(file.bytes)
            let committed = try blobs.commit(staged, expecting: Expectation(sha256: digest, size: Int64(file.bytes.count)))
            try await metadata.recordBlob(committed.digest, size: committed.size, gitOID: committed.gitOID?.hex)
            let gitOID = file.lfs ? Self.gitBlobID(Array(Self.pointer(digest, size: file.bytes.count).utf8)) : committed.gitOID?.hex
            published.append(MirroredFile(path: file.path, size: Int64(file.bytes.count), gitOID: gitOID,
                                          lfsOID: file.lfs ? digest : nil, blob: digest))
        }
        try await metadata.publish(repo: repo, commit: commit, ref: ref, files: published)
        return published
    }

    static func pointer(_ digest: ModelMirror.SHA256Digest, size: Int) -> String {
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(digest.hex)\nsize \(size)\n"
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func gitBlobID(_ bytes: [UInt8]) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Array("blob \(bytes.count)".utf8) + [0])
        hasher.update(data: bytes)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
        func json() -> Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    }

    /// One request; `path` is sent as written (percent-encoding and all).
    func request(_ path: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 64 << 20)
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: fields, body: Array(buffer: collected))
    }
}

/// Deterministic pseudo-random bytes.
func noise(_ count: Int, seed: UInt64 = 88172645463325252) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return bytes
}
