import LineageTestSupport
import Foundation
import Testing
@testable import ModelConversion

/// A Llama 3 style checkpoint: byte-level BPE in tokenizer.json, no tokenizer.model.
@Suite("BPE vocabularies from tokenizer.json")
struct BPEVocabularyTests {
    /// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others are moved
    /// to U+0100 and up, so that every byte is one visible character.
    static let byteCharacters: [Character] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var chars = printable
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            chars.append(256 + n)
            n += 1
        }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(printable, chars) { table[b] = Character(UnicodeScalar(c)!) }
        return table
    }()

    static let merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "l"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("Ġwor", "l"), ("Ġworl", "d")]

    /// Writes the tokenizer files and returns the token text of every id.
    static func writeTokenizer(to dir: URL, preTokenizer: [String: Any]? = nil) throws -> [Int: String] {
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[String(byteCharacters[b])] = b }
        for (a, b) in merges { vocab[a + b] = vocab.count }
        let added: [(Int, String, Bool)] = [(280, "<|begin_of_text|>", true), (281, "<|end_of_text|>", true),
                                            (282, "<|eot_id|>", true), (283, "<tool>", false)]
        let llama3: [String: Any] = [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": BPEVocabularyLoader.llama3Pattern], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ],
        ]
        let tokenizer: [String: Any] = [
            "version": "1.0",
            "added_tokens": added.map { ["id": $0.0, "content": $0.1, "special": $0.2, "normalized": false,
                                         "single_word": false, "lstrip": false, "rstrip": false] },
            "normalizer": NSNull(),
            "pre_tokenizer": preTokenizer ?? llama3,
            "post_processor": ["type": "TemplateProcessing",
                               "single": [["SpecialToken": ["id": "<|begin_of_text|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                               "pair": [["SpecialToken": ["id": "<|begin_of_text|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                                        ["SpecialToken": ["id": "<|begin_of_text|>", "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                               "special_tokens": [:] as [String: Any]],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "fuse_unk": false, "byte_fallback": false,
                      "ignore_merges": true, "vocab": vocab, "merges": merges.map { [$0.0, $0.1] }],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys]).write(to: dir.appendingPathComponent("tokenizer.json"))
        let config: [String: Any] = [
            "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "model_max_length": 131072,
            "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}<|eot_id|>{% endfor %}",
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": Dictionary(uniqueKeysWithValues: added.map { ("\($0.0)", ["content": $0.1, "special": $0.2]) }),
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        // A byte-level BPE checkpoint has no SentencePiece model (TinyLlama writes one).
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.model"))
        var byID: [Int: String] = [:]
        for (text, id) in vocab { byID[id] = text }
        for (id, text, _) in added { byID[id] = text }
        return byID
    }

    static var model: TinyLlama { TinyLlama(hidden: 64, feedForward: 128, layers: 1, heads: 2, kvHeads: 2, vocab: 300) }

    @Test("gpt2 vocabulary: tokens, types, merges, llama-bpe, special tokens and chat template")
    func metadata() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try Self.model.write(to: dir.appendingPathComponent("l3"))
        let byID = try Self.writeTokenizer(to: checkpoint)
        let (url, _) = try Conversion.run(checkpoint, .f16)
        let summary = try Conversion.summary(url)
        func v(_ key: String) -> Any? { Conversion.value(summary, key) }
        #expect(v("tokenizer.ggml.model") as? String == "gpt2")
        #expect(v("tokenizer.ggml.pre") as? String == "llama-bpe")
        let tokens = v("tokenizer.ggml.tokens") as! [String]
        #expect(tokens.count == 300)
        #expect(byID.allSatisfy { tokens[$0.key] == $0.value })
        // Ids neither the vocabulary nor the added tokens use are padding.
        #expect(tokens[265] == "[PAD265]" && tokens[284] == "[PAD284]" && tokens[299] == "[PAD299]")
        let types = v("tokenizer.ggml.token_type") as! [Int]
        #expect(types[65] == 1 && types[280] == 3 && types[282] == 3 && types[283] == 4 && types[290] == 5)
        #expect(v("tokenizer.ggml.merges") as? [String] == Self.merges.map { "\($0.0) \($0.1)" })
        #expect(v("tokenizer.ggml.scores") == nil)
        #expect(v("tokenizer.ggml.bos_token_id") as? Int == 280)
        #expect(v("tokenizer.ggml.eos_token_id") as? Int == 282)
        #expect(v("tokenizer.ggml.add_bos_token") as? Bool == true)  // from the post-processor's template
        #expect((v("tokenizer.chat_template") as? String)?.hasPrefix("{{ bos_token }}") == true)
    }

    @Test("llama.cpp tokenizes with the converted vocabulary", .enabled(if: Conversion.llamaCppAvailable))
    func llamaCppTokenizes() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try Self.model.write(to: dir.appendingPathComponent("l3"))
        let byID = try Self.writeTokenizer(to: checkpoint)
        let (url, _) = try Conversion.run(checkpoint, .f16)
        let ids = Dictionary(uniqueKeysWithValues: byID.map { ($1, $0) })
        // "hello" merges to he + ll + o; " world" and " the" are whole vocabulary entries.
        let expected = ["he", "ll", "o", "Ġworld", "Ġthe"].map { ids[$0]! }
        let result = try TestSupport.runPythonJSON("llama_cpp_check.py", ["tokenize", url.path, "-", "hello world the"])
        #expect(result["llama"] as? [Int] == expected)
        #expect(result["bos"] as? Int == 280)
    }

    @Test("an unknown pre-tokenizer is refused unless named")
    func unknownPreTokenizer() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try Self.model.write(to: dir.appendingPathComponent("l3"))
        _ = try Self.writeTokenizer(to: checkpoint, preTokenizer: ["type": "Whitespace"])
        #expect {
            try ModelConverter.plan(directory: checkpoint, options: ConversionOptions(preset: .f16))
        } throws: { error in
            let text = "\(error)"
            return text.contains("tokenizer.json") && text.contains("field 'pre_tokenizer'")
                && text.contains("(Whitespace, pattern none) is not one lineage recognises") && text.contains("--tokenizer-pre")
        }
        let plan = try ModelConverter.plan(directory: checkpoint, options: ConversionOptions(preset: .f16, tokenizerPre: "gpt-2"))
        #expect(plan.vocabulary.pre == "gpt-2")
    }
}
