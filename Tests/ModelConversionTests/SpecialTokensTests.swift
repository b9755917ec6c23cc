import LineageTestSupport
import Foundation
import Testing
@testable import ModelConversion

/// Our port of gguf-py's SpecialVocab (the special token ids, "add" flags and chat template
/// convert_hf_to_gguf.py writes) held against SpecialVocab itself on the tokenizer layouts
/// Llama-family checkpoints ship.
@Suite("special tokens as gguf-py's SpecialVocab finds them")
struct SpecialTokensTests {
    static func write(_ files: [String: Any], to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, content) in files {
            let data = try (content as? String).map { Data($0.utf8) } ?? JSONSerialization.data(withJSONObject: content, options: [.sortedKeys])
            try data.write(to: dir.appendingPathComponent(name))
        }
    }

    static func added(_ tokens: [(Int, String)]) -> [[String: Any]] {
        tokens.map { ["id": $0.0, "content": $0.1, "special": true, "normalized": false] }
    }

    static func template(single: [Any], pair: [Any] = []) -> [String: Any] {
        ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": [:] as [String: Any]]
    }

    static func special(_ id: String) -> [String: Any] { ["SpecialToken": ["id": id, "type_id": 0]] }
    static func sequence(_ id: String) -> [String: Any] { ["Sequence": ["id": id, "type_id": 0]] }

    /// The layouts: Llama 2 (AddedToken objects in tokenizer_config, a <s> template), Llama 3.1
    /// (a byte-level post-processor sequence, eos ids as a list in config.json), early LLaMA
    /// (no tokenizer.json), a template whose trailing token is not the eos (eot), a chat
    /// template from chat_template.jinja, and named chat templates.
    static var layouts: [(String, [String: Any], Bool)] { [
        ("llama2", [
            "tokenizer.json": ["added_tokens": added([(0, "<unk>"), (1, "<s>"), (2, "</s>")]),
                               "post_processor": template(single: [special("<s>"), sequence("A")],
                                                          pair: [special("<s>"), sequence("A"), special("<s>"), sequence("B")]),
                               "model": ["type": "BPE", "vocab": [:] as [String: Any], "merges": [] as [Any]]],
            "tokenizer_config.json": ["add_bos_token": true, "add_eos_token": false,
                                      "bos_token": ["__type": "AddedToken", "content": "<s>"],
                                      "eos_token": ["__type": "AddedToken", "content": "</s>"],
                                      "unk_token": ["__type": "AddedToken", "content": "<unk>"], "pad_token": NSNull(),
                                      "chat_template": "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"],
            "config.json": ["bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0],
        ], false),
        ("llama31", [
            "tokenizer.json": ["added_tokens": added([(128000, "<|begin_of_text|>"), (128001, "<|end_of_text|>"), (128009, "<|eot_id|>")]),
                               "post_processor": ["type": "Sequence", "processors": [
                                   ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
                                   template(single: [special("<|begin_of_text|>"), sequence("A")],
                                            pair: [special("<|begin_of_text|>"), sequence("A"), special("<|begin_of_text|>"), sequence("B")]),
                               ]],
                               "model": ["type": "BPE", "vocab": [:] as [String: Any], "merges": [["Ġ", "t"], ["h", "e"], ["a b", "c"]]]],
            "tokenizer_config.json": ["bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": "{{ bos_token }}"],
            "config.json": ["bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]],
        ], true),
        ("llama1", [
            "tokenizer_config.json": ["bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true],
            "config.json": ["bos_token_id": 1, "eos_token_id": 2, "pad_token_id": -1 + 1],
        ], false),
        ("trailing-eos", [
            "tokenizer.json": ["added_tokens": added([(1, "<s>"), (2, "</s>"), (7, "<|end|>")]),
                               "post_processor": template(single: [special("<s>"), sequence("A"), special("<|end|>")]),
                               "model": ["type": "BPE", "vocab": [:] as [String: Any], "merges": [] as [Any]]],
            "tokenizer_config.json": ["bos_token": "<s>", "eos_token": "</s>"],
        ], false),
        ("jinja", [
            "tokenizer.json": ["added_tokens": added([(1, "<s>"), (2, "</s>")]), "model": ["type": "BPE", "vocab": [:] as [String: Any]]],
            "tokenizer_config.json": ["bos_token": "<s>", "eos_token": "</s>", "add_eos_token": true],
            "chat_template.jinja": "{{ messages }}",
        ], false),
        ("named-templates", [
            "tokenizer_config.json": ["bos_token": "<s>",
                                      "chat_template": [["name": "default", "template": "A"], ["name": "tool use", "template": "B"]]],
            "config.json": ["bos_token_id": 1],
        ], false),
    ] }

    @Test("ids, add flags, order, chat template and merges match SpecialVocab", arguments: layouts.indices)
    func matchesSpecialVocab(index: Int) throws {
        let (name, files, merges) = Self.layouts[index]
        let dir = try TestSupport.temporaryDirectory().appendingPathComponent(name)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        try Self.write(files, to: dir)
        let ours = try SpecialTokens.load(directory: dir, loadMerges: merges, vocabularySize: merges ? nil : 32000)
        let reference = try TestSupport.runPythonJSON(
            "special_vocab.py", [dir.path] + (merges ? ["--merges"] : ["--n-vocab", "32000"]))
        let ids = (reference["ids"] as! [[Any]]).map { "\($0[0])=\($0[1])" }
        let adds = (reference["add"] as! [[Any]]).map { "\($0[0])=\(($0[1] as! NSNumber).boolValue)" }
        #expect(ours.ids.map { "\($0.kind)=\($0.value)" } == ids, "\(name)")
        #expect(ours.addFlags.map { "\($0.kind)=\($0.value)" } == adds, "\(name)")
        #expect(ours.merges == reference["merges"] as? [String], "\(name)")
        switch ours.chatTemplate {
        case .single(let text): #expect(reference["chat_template"] as? String == text, "\(name)")
        case .named(let templates):
            let theirs = (reference["chat_template"] as? [[String: String]] ?? []).map { "\($0["name"]!)=\($0["template"]!)" }
            // GGUFWriter's name sanitising ("tool use" -> "tool_use") happens when writing.
            #expect(templates.map { "\($0.kind)=\($0.value)" } == theirs.map { $0.replacingOccurrences(of: " ", with: "_") }, "\(name)")
        case nil: #expect(reference["chat_template"] is NSNull, "\(name)")
        }
    }
}
