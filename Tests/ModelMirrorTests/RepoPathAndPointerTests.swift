import Testing
@testable import ModelMirror

@Suite struct RepoPathTests {
    @Test(arguments: ["config.json", "a/b/model-00001-of-00002.safetensors", ".gitattributes", "dir/.hidden", "..foo", "a/...b"])
    func acceptsOrdinaryPaths(_ raw: String) throws {
        #expect(try RepoPath(raw).string == raw)
    }

    @Test(arguments: [
        ("", "empty path"), ("/etc/passwd", "absolute path"), ("..", "'..' component escapes the snapshot"),
        ("../outside", "'..' component escapes the snapshot"), ("a/../../b", "'..' component escapes the snapshot"),
        ("a/./b", "'.' component escapes the snapshot"), (".git/config", "'.git' component would write into git metadata"),
        ("sub/.GIT/hooks/post-checkout", "'.git' component would write into git metadata"), ("a//b", "empty path component"),
        ("a/", "empty path component"), ("a\\..\\b", "backslash in path (a Windows separator that could climb out)"),
        ("a\u{0}b", "NUL byte in path"), ("a\nb", "control character in path"),
    ])
    func refusesEscapes(_ raw: String, _ reason: String) {
        #expect(throws: RepoPath.Refusal(path: raw, reason: reason)) { try RepoPath(raw) }
    }
}

@Suite struct LFSPointerTests {
    let oid = String(repeating: "ab", count: 32)

    @Test func parsesCanonicalPointer() throws {
        let text = "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize 12345\n"
        guard case .pointer(let pointer) = LFSPointer.classify(Array(text.utf8)) else { Issue.record("not a pointer"); return }
        #expect(pointer.oid.hex == oid)
        #expect(pointer.size == 12345)
        #expect(pointer.text == text)
    }

    @Test func keepsUnknownKeys() throws {
        let text = "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:\(oid)\noid sha256:\(oid)\nsize 1\n"
        let pointer = try LFSPointer.parse(text)
        #expect(pointer.extraKeys == ["ext-0-foo": "sha256:\(oid)"])
        #expect(pointer.text == text)
    }

    @Test(arguments: [
        ("oid sha256:\(String(repeating: "AB", count: 32))\nsize 1\n", "is not sha256: followed by 64 lowercase hex digits"),
        ("oid sha256:abc\nsize 1\n", "is not sha256: followed by 64 lowercase hex digits"),
        ("oid md5:\(String(repeating: "ab", count: 32))\nsize 1\n", "is not 'sha256:<hex>'"),
        ("oid sha256:\(String(repeating: "ab", count: 32))\nsize -4\n", "is not a non-negative decimal integer"),
        ("oid sha256:\(String(repeating: "ab", count: 32))\nsize 4GB\n", "is not a non-negative decimal integer"),
        ("size 1\noid sha256:\(String(repeating: "ab", count: 32))\n", "not sorted"),
        ("oid sha256:\(String(repeating: "ab", count: 32))\n", "no 'size' line"),
    ])
    func rejectsLyingPointers(_ body: String, _ reason: String) {
        let text = "version https://git-lfs.github.com/spec/v1\n" + body
        guard case .invalid(let invalid) = LFSPointer.classify(Array(text.utf8)) else {
            Issue.record("expected an invalid pointer for \(body)")
            return
        }
        #expect(invalid.reason.contains(reason), "\(invalid.reason)")
    }

    @Test func ordinaryFilesAreNotPointers() {
        #expect(LFSPointer.classify(Array("{\"architectures\": [\"LlamaForCausalLM\"]}\n".utf8)) == .notAPointer)
        #expect(LFSPointer.classify(Array("version 2 of my notes\n".utf8)) == .notAPointer)
        #expect(LFSPointer.classify([UInt8](repeating: 0x76, count: 2000)) == .notAPointer)
    }
}
