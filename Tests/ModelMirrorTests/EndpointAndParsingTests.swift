import Foundation
import NIOCore
import Testing
@testable import ModelMirror

@Suite struct RepoIDTests {
    @Test(arguments: [
        ("https://huggingface.co/meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf"),
        ("https://example.com/git/org/model.git", "org/model"),
        ("https://example.com/org/model.git/", "org/model"),
        ("git@example.com:org/model.git", "org/model"),
        ("ssh://git@example.com:2222/org/model", "org/model"),
        ("file:///srv/git/org/model.git", "org/model"),
        ("/srv/git/org/model", "org/model"),
    ])
    func gitURLDefaultsToItsLastTwoComponents(_ url: String, _ id: String) {
        #expect(RepoID.defaultID(forGitURL: url) == id)
    }

    @Test(arguments: ["../x", "a/b/c", "a/..", "org/na me", "org/a--b", "", "org/-x", "org/x.", ".hidden/x", "org/a..b", "org/x.git", "org/caf\u{E9}"])
    func refusesIDsThatWouldEscapeOrCollide(_ id: String) {
        #expect(throws: RepoID.Invalid.self) { try RepoID.validate(id) }
    }

    @Test func repoIDsFollowTheHubsRuleAndSayWhyNot() throws {
        #expect(try RepoID.validate("TheBloke/Llama-2-7B-GGUF") == "TheBloke/Llama-2-7B-GGUF")
        #expect(try RepoID.validate("gpt2") == "gpt2")
        #expect(try RepoID.validate("org/_x_") == "org/_x_")
        #expect(throws: RepoID.Invalid(id: "org/x-", reason: "a component may not start or end with '-' or '.'")) { try RepoID.validate("org/x-") }
        #expect(throws: RepoID.Invalid(id: "org/a--b", reason: "'--' would be ambiguous in the cache folder name")) { try RepoID.validate("org/a--b") }
        #expect(throws: RepoID.Invalid(id: "a/b/c", reason: "it has 3 components, not 1 or 2")) { try RepoID.validate("a/b/c") }
    }
}

@Suite struct LFSEndpointTests {
    @Test func followsGitLFSEndpointRules() {
        #expect(LFSEndpoint.derive(remoteURL: "https://host/org/name", lfsURL: nil) == .http("https://host/org/name.git/info/lfs"))
        #expect(LFSEndpoint.derive(remoteURL: "https://host/org/name.git", lfsURL: nil) == .http("https://host/org/name.git/info/lfs"))
        #expect(LFSEndpoint.derive(remoteURL: "git@host:org/name.git", lfsURL: nil) == .http("https://host/org/name.git/info/lfs"))
        #expect(LFSEndpoint.derive(remoteURL: "ssh://git@host:22/org/name", lfsURL: nil) == .http("https://host/org/name.git/info/lfs"))
        #expect(LFSEndpoint.derive(remoteURL: "https://host/org/name", lfsURL: "https://lfs.example/objects/") == .http("https://lfs.example/objects"))
        #expect(LFSEndpoint.derive(remoteURL: "file:///srv/name.git", lfsURL: nil) == .standalone(URL(fileURLWithPath: "/srv/name.git")))
    }

    @Test func readsLFSURLFromLFSConfig() {
        let text = "# comment\n[core]\n\turl = nope\n[lfs]\n\turl = \"https://lfs.example/repo\"\n"
        #expect(GitConfigText.value(in: text, section: "lfs", key: "url") == "https://lfs.example/repo")
        #expect(GitConfigText.value(in: "[lfs]\n", section: "lfs", key: "url") == nil)
    }
}

@Suite struct LFSBatchResponseTests {
    @Test func parsesActionsErrorsAndExpiry() throws {
        let ok = String(repeating: "a", count: 64), gone = String(repeating: "b", count: 64), dated = String(repeating: "c", count: 64)
        let json = """
            {"transfer": "basic", "objects": [
              {"oid": "\(ok)", "size": 3, "actions": {"download": {"href": "https://cdn/x", "header": {"Authorization": "Basic abc"},
                "expires_in": 60, "expires_at": "2000-01-01T00:00:00Z"}}},
              {"oid": "\(gone)", "size": 3, "error": {"code": 410, "message": "removed"}},
              {"oid": "\(dated)", "size": 3, "actions": {"download": {"href": "https://cdn/y", "expires_at": "2999-01-01T00:00:00Z"}}}
            ]}
            """
        let now = Date()
        let results = try LFSBatchClient.parse(ByteBuffer(string: json), receivedAt: now, url: "https://host/info/lfs/objects/batch")
        guard case .success(let action)? = results[SHA256Digest(hex: ok)!] else { Issue.record("no action"); return }
        #expect(action.headers == ["Authorization": "Basic abc"])
        #expect(action.expiresAt == now.addingTimeInterval(60), "expires_in wins over expires_at")
        #expect(action.isFresh(now: now))
        #expect(!action.isFresh(now: now.addingTimeInterval(58)))
        guard case .failure(let error)? = results[SHA256Digest(hex: gone)!] else { Issue.record("no error"); return }
        #expect(error.description.hasPrefix("the object was removed from the LFS server (LFS error 410: removed)"))
        guard case .success(let later)? = results[SHA256Digest(hex: dated)!] else { Issue.record("no action"); return }
        #expect(later.expiresAt! > now)
    }

    @Test func refusesTransfersOtherThanBasic() {
        #expect(throws: (any Error).self) {
            try LFSBatchClient.parse(ByteBuffer(string: #"{"transfer": "ssh", "objects": []}"#), receivedAt: Date(), url: "u")
        }
    }
}

@Suite struct HubParsingTests {
    @Test func followsLinkHeaderNext() {
        let header = #"<https://hub/api/models/a/b/tree/main?cursor=xyz>; rel="next", <https://hub/x>; rel="prev""#
        #expect(HubSource.nextLink(header, base: "https://hub/api/models/a/b/tree/main") == "https://hub/api/models/a/b/tree/main?cursor=xyz")
        #expect(HubSource.nextLink(#"</api/next?c=1>; rel="next""#, base: "http://h:1/api/models/a/b/tree/main") == "http://h:1/api/next?c=1")
        #expect(HubSource.nextLink(#"<https://hub/x>; rel="prev""#, base: "https://hub/") == nil)
    }

    @Test func globsMatchLikeHuggingfaceHub() {
        let filter = PathFilter(include: ["*.safetensors", "tokenizer/"], exclude: ["*-00002-*"])
        #expect(filter.admits("model-00001-of-00002.safetensors"))
        #expect(filter.admits("sub/dir/x.safetensors"), "* crosses / as in fnmatch")
        #expect(filter.admits("tokenizer/vocab.json"))
        #expect(!filter.admits("model-00002-of-00002.safetensors"))
        #expect(!filter.admits("config.json"))
    }

    @Test func redactsCredentialsFromURLs() {
        #expect(TransferError.redact("https://user:pw@cdn.example/obj?X-Amz-Signature=secret") == "https://cdn.example/obj")
    }
}
