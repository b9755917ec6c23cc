import Foundation
import LineageServer
import Testing

@Suite struct ConfigurationTests {
    @Test func readsEveryField() throws {
        let text = """
            store: data/store
            listen: 0.0.0.0:9000
            admin_token_env: ADMIN_TOKEN
            workers: 3
            scrub_interval: 12h
            upstreams:
              hub: { endpoint: "https://hub.example", token_env: MY_HF_TOKEN }
            repos:
              - id: yentinglin/Taiwan-LLaMa-v1.0
                revision: main
                include: ["*.json"]
                quantize: [Q4_0, Q8_0]
                interval: 30m
              - id: local/tiny
                source: git
                url: ../upstream/tiny
            """
        let configuration = try DaemonConfiguration.parse(text, file: "/etc/lineage/daemon.yaml")
        #expect(configuration.store == "/etc/lineage/data/store")
        #expect(configuration.listen == .init(host: "0.0.0.0", port: 9000))
        #expect(configuration.adminTokenEnv == "ADMIN_TOKEN")
        #expect(configuration.workers == 3)
        #expect(configuration.scrubInterval == .seconds(12 * 3600))
        #expect(configuration.hub == .init(endpoint: "https://hub.example", tokenEnv: "MY_HF_TOKEN"))
        #expect(configuration.repos.map(\.id) == ["yentinglin/Taiwan-LLaMa-v1.0", "local/tiny"])
        #expect(configuration.repos[0].quantize == ["Q4_0", "Q8_0"])
        #expect(configuration.repos[0].interval == .seconds(1800))
        #expect(configuration.repos[0].line == 9)
        #expect(configuration.repos[1].source == .git)
        #expect(configuration.repos[1].url == "/etc/upstream/tiny")
        #expect(configuration.repos[0].revisions == ["main"])
        #expect(configuration.repos[1].revisions == [])
    }

    @Test func revisionsListEveryBranchTagAndCommitToKeep() throws {
        let commit = String(repeating: "ab", count: 20)
        let configuration = try DaemonConfiguration.parse("""
            repos:
              - id: acme/many
                revisions: [main, v1.0, refs/pr/1, \(commit)]
              - id: acme/one
                revision: v2
              - id: acme/default
            """, file: "daemon.yaml")
        #expect(configuration.repos.map(\.revisions) == [["main", "v1.0", "refs/pr/1", commit], ["v2"], []])
        // One sync job per revision; "" (the repo's recorded revision) for a repo without any.
        #expect(configuration.syncPayloads(for: "acme/many") == ["main", "v1.0", "refs/pr/1", commit])
        #expect(configuration.syncPayloads(for: "acme/one") == ["v2"])
        #expect(configuration.syncPayloads(for: "acme/default") == [""])
        #expect(configuration.syncPayloads(for: "added/by-cli") == [""])
    }

    @Test(arguments: [
        ("listen: nowhere\n", 1, "listen: 'nowhere' is not HOST:PORT"),
        ("repos:\n  - id: a/b\n    interval: 6 hours\n", 3, "repos[0].interval: '6 hours' is not a duration"),
        ("repos:\n  - id: a/b\n    colour: red\n", 3, "repos[0].colour: unknown key 'colour'"),
        ("admin_token_env: hf_abcdef-123\n", 1, "is not an environment variable name"),
        ("repos:\n  - id: a/b\n  - id: a/b\n", 3, "repo 'a/b' is listed twice (first at line 2)"),
        ("repos:\n  - id: ../etc\n", 2, "invalid repo id"),
        ("repos:\n  - id: a/b\n    quantize: [Q3_0]\n", 3, "unknown quantization 'Q3_0'"),
        ("repos:\n  - id: a/b\n    source: git\n", 2, "has source git but no url"),
        ("workers: [1\n", 2, "malformed YAML"),
        ("store: /x\nstore: /y\n", 1, "malformed YAML"),
        ("repos:\n  - id: a/b\n    revision: main\n    revisions: [v1]\n", 4,
         "repos[0]: repo 'a/b' has both revision and revisions; keep one (revision: X is revisions: [X])"),
        ("repos:\n  - id: a/b\n    revisions: [v1]\n    revision: main\n", 4, "has both revision and revisions"),
        ("repos:\n  - id: a/b\n    revisions: []\n", 3, "repos[0].revisions: repo 'a/b' lists no revisions"),
        ("repos:\n  - id: a/b\n    revisions: [main, v1, main]\n", 3, "repos[0].revisions[2]: revision 'main' is listed twice"),
        ("repos:\n  - id: a/b\n    revisions:\n      - main\n      - \"v 1\"\n", 5, "repos[0].revisions[1]: 'v 1' is not a branch, tag or commit name"),
        ("repos:\n  - id: a/b\n    revisions: [../../etc]\n", 3, "'../../etc' is not a branch, tag or commit name"),
        ("repos:\n  - id: a/b\n    revisions: main\n", 3, "repos[0].revisions: expected a list"),
        ("repos:\n  - id: a/b\n    revisions: [[main]]\n", 3, "repos[0].revisions[0]: expected a non-empty string"),
    ])
    func refusesWithFileLineAndReason(text: String, line: Int, reason: String) {
        do {
            _ = try DaemonConfiguration.parse(text, file: "daemon.yaml")
            Issue.record("accepted a configuration with an error: \(text)")
        } catch {
            #expect(error.description.hasPrefix("daemon.yaml:\(line): "), "\(error)")
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func theMirrorExampleParses() throws {
        let file = TestServer.packageRoot.appendingPathComponent("Mirror/daemon.yaml").path
        let configuration = try DaemonConfiguration.load(file: file)
        #expect(!configuration.repos.isEmpty)
        #expect(configuration.listen.host == "127.0.0.1" || configuration.listen.host == "0.0.0.0")
    }

    @Test func listenAddresses() {
        #expect(DaemonConfiguration.Listen.parse("127.0.0.1:0") == .init(host: "127.0.0.1", port: 0))
        #expect(DaemonConfiguration.Listen.parse(":8080") == .init(host: "127.0.0.1", port: 8080))
        #expect(DaemonConfiguration.Listen.parse("[::1]:80") == .init(host: "::1", port: 80))
        #expect(DaemonConfiguration.Listen.parse("host:99999") == nil)
        #expect(DaemonConfiguration.Listen.parse("8080") == nil)
    }
}
