import AsyncHTTPClient
import NIOHTTP1
import Foundation
@testable import LineageServer
import ModelMirror
import Testing

/// Lineage endpoints, the page, health, metrics and the LFS API over real HTTP.
@Suite struct LineageAndOperationsTests {
    @Test func graphAsJSONDotAndSVGWholeAndPerModel() async throws {
        let server = try await TestServer()
        let whole = try await server.request("/api/lineage/graph.json")
        #expect(whole.status == 200)
        let json = try #require(whole.json() as? [String: Any])
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(nodes.count > 100)

        let taiwan = try #require(try await server.request("/api/lineage/graph.json?model=taiwan-llama-v1-0").json() as? [String: Any])
        let ids = Set((taiwan["nodes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
        // Its ancestors (Llama 2) and nothing unrelated (BLOOM).
        #expect(ids.contains("taiwan-llama-v1-0"))
        #expect(ids.contains("llama-2-13b"))
        #expect(!ids.contains("bloom-7b1"))
        #expect(ids.count < nodes.count)

        let byHubID = try await server.request("/api/lineage/graph.dot?model=yentinglin%2FTaiwan-LLaMa-v1.0")
        #expect(byHubID.status == 200)
        #expect(byHubID.text.hasPrefix("digraph lineage {"))
        #expect(byHubID.text.contains("\"taiwan-llama-v1-0\""))

        let svg = try await server.request("/api/lineage/graph.svg?model=taiwan-llama-v1-0")
        #expect(svg.status == 200)
        #expect(svg.header("content-type") == "image/svg+xml")
        #expect(svg.text.contains("<svg"))
        // Graphviz writes `-` in titles as `&#45;`.
        #expect(svg.text.contains("<title>taiwan&#45;llama&#45;v1&#45;0</title>"))

        let unknown = try await server.request("/api/lineage/graph.json?model=taiwan")
        #expect(unknown.status == 404)
        #expect(unknown.text.contains("did you mean"))
        try await server.stop()
    }

    @Test func pageShowsTheTreeAndMirrorState() async throws {
        let server = try await TestServer()
        try await server.publish("yentinglin/Taiwan-LLaMa-v1.0", commit: String(repeating: "5", count: 40), ref: "main",
                                 files: [.init(path: "config.json", bytes: Array("{}".utf8), lfs: false)])
        try await server.metadata.markVerified([ModelMirror.SHA256Digest(hex: TestServer.sha256(Array("{}".utf8)))!], at: Date(timeIntervalSince1970: 1_800_000_000))
        let page = try await server.request("/?q=taiwan")
        #expect(page.status == 200)
        #expect(page.header("content-type") == "text/html; charset=utf-8")
        #expect(page.text.contains("<svg"))
        #expect(page.text.contains("id=\"search\""))
        #expect(page.text.contains("value=\"taiwan\""))
        #expect(page.text.contains("yentinglin/Taiwan-LLaMa-v1.0</b> [git]"))
        #expect(page.text.contains("verified 2027-01-15T08:00:00Z"))
        let models = try #require(try await server.request("/api/lineage/models").json() as? [[String: Any]])
        let entry = try #require(models.first { $0["id"] as? String == "taiwan-llama-v1-0" })
        let mirror = try #require(entry["mirror"] as? [[String: Any]])
        #expect(mirror.first?["repo"] as? String == "yentinglin/Taiwan-LLaMa-v1.0")
        try await server.stop()
    }

    @Test func healthAndMetrics() async throws {
        let server = try await TestServer()
        let bytes = noise(5000, seed: 9)
        try await server.publish("org/m", commit: String(repeating: "1", count: 40), ref: "main",
                                 files: [.init(path: "w.bin", bytes: bytes, lfs: true)])
        #expect(try await server.request("/healthz").text == #"{"status":"ok"}"#)
        _ = try await server.request("/org/m/resolve/main/w.bin")
        let metrics = try await server.request("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("lineage_mirrored_bytes 5000"))
        #expect(metrics.text.contains("lineage_mirrored_blobs 1"))
        #expect(metrics.text.contains("lineage_verification_failures 0"))
        #expect(metrics.text.contains(#"lineage_served_bytes_total{route="resolve"} 5000"#))
        #expect(metrics.text.contains(#"lineage_http_requests_total{route="resolve",status="200"} 1"#))
        #expect(metrics.text.contains("lineage_http_request_duration_seconds_bucket"))
        try await server.stop()
    }

    @Test func lfsBatchAndBasicDownload() async throws {
        let server = try await TestServer()
        let bytes = noise(70_000, seed: 21)
        let digest = TestServer.sha256(bytes)
        try await server.publish("org/lfs", commit: String(repeating: "2", count: 40), ref: "main",
                                 files: [.init(path: "w.bin", bytes: bytes, lfs: true)])
        let other = noise(100, seed: 22)
        try await server.publish("org/other", commit: String(repeating: "3", count: 40), ref: "main",
                                 files: [.init(path: "x.bin", bytes: other, lfs: true)])
        let missing = String(repeating: "0", count: 64)
        let request = """
            {"operation":"download","transfers":["basic"],"ref":{"name":"refs/heads/main"},"objects":[
              {"oid":"\(digest)","size":\(bytes.count)},{"oid":"\(missing)","size":1},
              {"oid":"\(TestServer.sha256(other))","size":100},{"oid":"\(digest)","size":5},{"oid":"NOTHEX","size":1}]}
            """
        let headers = [("Accept", "application/vnd.git-lfs+json"), ("Content-Type", "application/vnd.git-lfs+json")]
        let batch = try await server.request("/org/lfs.git/info/lfs/objects/batch", method: .POST, headers: headers, body: Array(request.utf8))
        #expect(batch.status == 200)
        #expect(batch.header("content-type") == "application/vnd.git-lfs+json")
        let answer = try #require(batch.json() as? [String: Any])
        #expect(answer["transfer"] as? String == "basic")
        let objects = try #require(answer["objects"] as? [[String: Any]])
        let href = try #require(((objects[0]["actions"] as? [String: Any])?["download"] as? [String: Any])?["href"] as? String)
        #expect(href == "\(server.base)/org/lfs.git/info/lfs/objects/\(digest)")
        #expect((objects[1]["error"] as? [String: Any])?["code"] as? Int == 404)
        // Another repo's object is not handed out under this repo's endpoint.
        #expect((objects[2]["error"] as? [String: Any])?["code"] as? Int == 404)
        #expect((objects[3]["error"] as? [String: Any])?["code"] as? Int == 422)
        #expect((objects[4]["error"] as? [String: Any])?["code"] as? Int == 422)

        let download = try await server.request("/org/lfs.git/info/lfs/objects/\(digest)")
        #expect(download.status == 200 && download.body == bytes)
        let resumed = try await server.request("/org/lfs.git/info/lfs/objects/\(digest)", headers: [("Range", "bytes=69000-")])
        #expect(resumed.status == 206 && resumed.body == Array(bytes[69_000...]))
        #expect(resumed.header("content-range") == "bytes 69000-69999/70000")

        let upload = try await server.request("/org/lfs.git/info/lfs/objects/batch", method: .POST, headers: headers,
                                              body: Array(#"{"operation":"upload","objects":[]}"#.utf8))
        #expect(upload.status == 403)
        let malformed = try await server.request("/org/lfs.git/info/lfs/objects/batch", method: .POST, headers: headers, body: Array("{nope".utf8))
        #expect(malformed.status == 422)
        let unknownRepo = try await server.request("/nobody/none.git/info/lfs/objects/batch", method: .POST, headers: headers,
                                                   body: Array(#"{"operation":"download","objects":[]}"#.utf8))
        #expect(unknownRepo.status == 404)
        #expect(try await server.request("/org/lfs.git/info/lfs/objects/\(TestServer.sha256(other))").status == 404)
        #expect(try await server.request("/org/lfs.git/info/lfs/objects/..%2F..%2Fetc%2Fpasswd").status == 422)
        try await server.stop()
    }
}
