import AsyncHTTPClient
import Hummingbird
import NIOHTTP1
import Foundation
@testable import LineageServer
import ModelMirror
import Testing

/// The Hub-compatible read API over real HTTP on 127.0.0.1.
@Suite struct HubAPITests {
    static let commit1 = String(repeating: "a1", count: 20)
    static let commit2 = String(repeating: "b2", count: 20)
    static let weights = noise(300_000, seed: 3)
    static let config = Array(#"{"architectures": ["LlamaForCausalLM"]}"#.utf8)

    static func fixture(_ server: TestServer) async throws {
        try await server.publish("org/tiny", commit: commit1, ref: "main", files: [
            .init(path: "config.json", bytes: config, lfs: false),
            .init(path: "model.safetensors", bytes: weights, lfs: true),
            .init(path: "sub/dir/notes.txt", bytes: Array("hello\n".utf8), lfs: false),
            .init(path: "sub/empty.txt", bytes: [], lfs: false),
        ])
        try await server.publish("org/tiny", commit: commit2, ref: "v1.0", files: [
            .init(path: "config.json", bytes: Array("{}".utf8), lfs: false),
        ])
    }

    @Test func repoInfoWithAndWithoutRevision() async throws {
        let server = try await TestServer()
        try await Self.fixture(server)
        let info = try await server.request("/api/models/org/tiny")
        #expect(info.status == 200)
        let json = try #require(info.json() as? [String: Any])
        #expect(json["id"] as? String == "org/tiny")
        #expect(json["sha"] as? String == Self.commit1)
        let siblings = try #require(json["siblings"] as? [[String: Any]])
        #expect(siblings.compactMap { $0["rfilename"] as? String } == ["config.json", "model.safetensors", "sub/dir/notes.txt", "sub/empty.txt"])
        #expect(siblings[0]["size"] == nil)

        let tagged = try #require(try await server.request("/api/models/org/tiny/revision/v1.0").json() as? [String: Any])
        #expect(tagged["sha"] as? String == Self.commit2)
        let byCommit = try #require(try await server.request("/api/models/org/tiny/revision/\(Self.commit2)?blobs=true").json() as? [String: Any])
        #expect(byCommit["sha"] as? String == Self.commit2)

        let blobs = try #require(try await server.request("/api/models/org/tiny/revision/main?blobs=true").json() as? [String: Any])
        let lfs = try #require((blobs["siblings"] as? [[String: Any]])?.first { $0["rfilename"] as? String == "model.safetensors" })
        #expect(lfs["size"] as? Int == Self.weights.count)
        let pointer = try #require(lfs["lfs"] as? [String: Any])
        #expect(pointer["sha256"] as? String == TestServer.sha256(Self.weights))
        #expect(pointer["pointerSize"] as? Int == TestServer.pointer(ModelMirror.SHA256Digest(hex: TestServer.sha256(Self.weights))!, size: Self.weights.count).utf8.count)
        let refs = try await server.request("/api/models/org/tiny/revision/refs%2Fheads%2Fmain")
        #expect((refs.json() as? [String: Any])?["sha"] as? String == Self.commit1)
        try await server.stop()
    }

    @Test func treeIsRecursiveAndPaginated() async throws {
        let server = try await TestServer(treePageSize: 2)
        try await Self.fixture(server)
        var path: String? = "/api/models/org/tiny/tree/main?recursive=True"
        var entries: [[String: Any]] = []
        var pages = 0
        while let next = path {
            let page = try await server.request(next)
            #expect(page.status == 200)
            entries += try #require(page.json() as? [[String: Any]])
            pages += 1
            path = page.header("link").flatMap { link in
                link.range(of: #"<([^>]*)>; rel="next""#, options: .regularExpression).map {
                    String(link[$0].dropFirst().prefix { $0 != ">" })
                }
            }
        }
        #expect(pages == 3)
        #expect(entries.compactMap { $0["path"] as? String } == ["config.json", "model.safetensors", "sub", "sub/dir", "sub/dir/notes.txt", "sub/empty.txt"])
        let config = try #require(entries.first { $0["path"] as? String == "config.json" })
        #expect(config["oid"] as? String == TestServer.gitBlobID(Self.config))
        let model = try #require(entries.first { $0["path"] as? String == "model.safetensors" })
        #expect((model["lfs"] as? [String: Any])?["oid"] as? String == TestServer.sha256(Self.weights))
        #expect(entries.first { $0["path"] as? String == "sub" }?["type"] as? String == "directory")

        let top = try #require(try await server.request("/api/models/org/tiny/tree/main/sub?limit=50").json() as? [[String: Any]])
        #expect(top.compactMap { $0["path"] as? String } == ["sub/dir", "sub/empty.txt"])
        let missing = try await server.request("/api/models/org/tiny/tree/main/nothing")
        #expect(missing.status == 404)
        #expect(missing.header("x-error-code") == "EntryNotFound")
        try await server.stop()
    }

    @Test func resolveByBranchTagAndCommitWithTheHeadersClientsNeed() async throws {
        let server = try await TestServer()
        try await Self.fixture(server)
        let digest = TestServer.sha256(Self.weights)
        for revision in ["main", Self.commit1, "refs%2Fheads%2Fmain"] {
            let head = try await server.request("/org/tiny/resolve/\(revision)/model.safetensors", method: .HEAD)
            #expect(head.status == 200)
            #expect(head.header("x-repo-commit") == Self.commit1)
            #expect(head.header("etag") == "\"\(digest)\"")
            #expect(head.header("x-linked-etag") == "\"\(digest)\"")
            #expect(head.header("x-linked-size") == String(Self.weights.count))
            #expect(head.header("content-length") == String(Self.weights.count))
            #expect(head.body.isEmpty)
        }
        let get = try await server.request("/org/tiny/resolve/main/model.safetensors")
        #expect(get.body == Self.weights)
        let small = try await server.request("/org/tiny/resolve/v1.0/config.json")
        #expect(small.text == "{}")
        #expect(small.header("x-repo-commit") == Self.commit2)
        #expect(small.header("etag") == "\"\(TestServer.gitBlobID(Array("{}".utf8)))\"")
        let nested = try await server.request("/org/tiny/resolve/main/sub/dir/notes.txt")
        #expect(nested.text == "hello\n")
        let empty = try await server.request("/org/tiny/resolve/main/sub/empty.txt")
        #expect(empty.status == 200 && empty.body.isEmpty && empty.header("content-length") == "0")
        try await server.stop()
    }

    @Test func rangesAnswer206AndPastTheEnd416() async throws {
        let server = try await TestServer()
        try await Self.fixture(server)
        let path = "/org/tiny/resolve/main/model.safetensors"
        let tail = try await server.request(path, headers: [("Range", "bytes=299000-")])
        #expect(tail.status == 206)
        #expect(tail.header("content-range") == "bytes 299000-299999/300000")
        #expect(tail.body == Array(Self.weights[299_000...]))
        let middle = try await server.request(path, headers: [("Range", "bytes=10-19")])
        #expect(middle.status == 206 && middle.body == Array(Self.weights[10...19]))
        let suffix = try await server.request(path, headers: [("Range", "bytes=-5")])
        #expect(suffix.body == Array(Self.weights.suffix(5)))
        let past = try await server.request(path, headers: [("Range", "bytes=300000-")])
        #expect(past.status == 416)
        #expect(past.header("content-range") == "bytes */300000")
        let clamped = try await server.request(path, headers: [("Range", "bytes=299990-400000")])
        #expect(clamped.status == 206 && clamped.body == Array(Self.weights.suffix(10)))
        try await server.stop()
    }

    @Test func errorsCarryTheHubsCodes() async throws {
        let server = try await TestServer()
        try await Self.fixture(server)
        let cases: [(String, HTTPMethod, Int, String?)] = [
            ("/api/models/nobody/nothing", .GET, 404, "RepoNotFound"),
            ("/api/models/org/tiny/revision/nope", .GET, 404, "RevisionNotFound"),
            ("/org/tiny/resolve/nope/config.json", .HEAD, 404, "RevisionNotFound"),
            ("/org/tiny/resolve/main/missing.bin", .HEAD, 404, "EntryNotFound"),
            ("/org/tiny/resolve/main/missing.bin", .GET, 404, "EntryNotFound"),
            ("/nobody/nothing/resolve/main/config.json", .GET, 404, "RepoNotFound"),
            ("/org/tiny/resolve/\(String(repeating: "c", count: 40))/config.json", .GET, 404, "RevisionNotFound"),
            // `..` arrives only when a client sends it raw or encoded; either way it is refused
            // before any lookup, and lookups are by database row, never by joined path.
            ("/org/tiny/resolve/main/../../../../etc/passwd", .GET, 400, nil),
            ("/org/tiny/resolve/main/%2e%2e/%2e%2e/etc/passwd", .GET, 400, nil),
            ("/org/tiny/resolve/main/sub/..%2F..%2Fconfig.json", .GET, 400, nil),
            ("/org/tiny/resolve/main/a%00b", .GET, 400, nil),
            // The HTTP client escapes a stray `%` itself: these name files that do not exist.
            ("/org/tiny/resolve/main/bad%zzescape", .GET, 404, "EntryNotFound"),
            ("/org/tiny/resolve/main/trailing%2", .GET, 404, "EntryNotFound"),
            ("/..%2F..%2Fetc/passwd/resolve/main/x", .GET, 404, "RepoNotFound"),
            ("/api/models/..%2F..%2Fetc/passwd", .GET, 404, "RepoNotFound"),
            ("/api/models/org/tiny/tree/main/..%2F..", .GET, 400, nil),
            ("/api/models/org/tiny/tree/main?cursor=-4", .GET, 400, nil),
            ("/api/models/org/tiny/frobnicate", .GET, 404, nil),
            ("/org/tiny/resolve/main/config.json", .POST, 405, nil),
            ("/no/such/route", .GET, 404, nil),
        ]
        for (path, method, status, code) in cases {
            let reply = try await server.request(path, method: method)
            #expect(reply.status == status, "\(method) \(path): \(reply.status) \(reply.text)")
            #expect(reply.header("x-error-code") == code, "\(method) \(path)")
        }
        // Still serving after all of that.
        #expect(try await server.request("/healthz").status == 200)
        try await server.stop()
    }

    @Test func thirtyTwoConcurrentClientsGetEveryByte() async throws {
        try await TestServer.with { server in
        var files: [TestServer.FileSpec] = []
        for index in 0..<8 {
            files.append(.init(path: "shard-\(index).bin", bytes: noise(1_000_000 + index * 4099, seed: UInt64(index + 11)), lfs: true))
        }
        try await server.publish("org/shards", commit: Self.commit1, ref: "main", files: files)
        let expected = Dictionary(uniqueKeysWithValues: files.map { ($0.path, TestServer.sha256($0.bytes)) })
        let results = try await withThrowingTaskGroup(of: (String, String, Int).self) { group in
            for client in 0..<32 {
                // Half the clients all want the same file, the rest spread over the others.
                let name = client % 2 == 0 ? "shard-0.bin" : "shard-\(client % 8).bin"
                group.addTask {
                    let reply = try await server.request("/org/shards/resolve/main/\(name)")
                    return (name, TestServer.sha256(reply.body), reply.status)
                }
            }
            var all: [(String, String, Int)] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 32)
        for (name, digest, status) in results {
            #expect(status == 200)
            #expect(digest == expected[name], "\(name)")
        }
        }
    }

    @Test func malformedPercentEncodingIsRefused() throws {
        for segment in ["bad%zz", "trailing%2", "%", "%g0", "a%00b"] {
            #expect(throws: HubError.self, "\(segment)") { try HubAPI<BasicRequestContext>.decode(segment) }
        }
        #expect(try HubAPI<BasicRequestContext>.decode("refs%2Fpr%2F1") == "refs/pr/1")
        #expect(try HubAPI<BasicRequestContext>.decode("%E4%B8%AD.txt") == "中.txt")
    }

    @Test func byteRanges() {
        #expect(ByteRange.parse(nil, size: 10) == .whole)
        #expect(ByteRange.parse("bytes=0-", size: 10) == .partial(0...9))
        #expect(ByteRange.parse("bytes=3-4", size: 10) == .partial(3...4))
        #expect(ByteRange.parse("bytes=-3", size: 10) == .partial(7...9))
        #expect(ByteRange.parse("bytes=10-", size: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=5-2", size: 10) == .whole)
        #expect(ByteRange.parse("bytes=0-1,4-5", size: 10) == .whole)
        #expect(ByteRange.parse("items=0-1", size: 10) == .whole)
    }
}

