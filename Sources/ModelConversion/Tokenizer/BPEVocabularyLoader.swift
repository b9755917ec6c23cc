import Foundation

/// Builds a "gpt2" (byte-level BPE) vocabulary from tokenizer.json, as convert_hf_to_gguf.py's
/// get_vocab_base and _set_vocab_gpt2 do for Llama 3 style checkpoints.
///
/// The converter names the pre-tokenizer by hashing how the Hugging Face tokenizer splits a
/// test text, which needs the tokenizers library. This reader recognises the pre-tokenizer from
/// its definition in tokenizer.json instead; an unknown one is refused (the wrong name makes
/// llama.cpp split text differently from the model's training) unless the caller names it.
enum BPEVocabularyLoader {
    /// The Llama 3 split regex (tokenizer.json pre_tokenizer Split pattern); llama.cpp "llama-bpe".
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// BLOOM's split (tokenizer.json Split pattern before a regex-less ByteLevel); llama.cpp "bloom".
    static let bloomPattern = #" ?[^(\s|[.,!?…。，、।۔،])]+"#
    /// StableLM 2's Arcade100k split; llama.cpp "stablelm2".
    static let stableLM2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Falcon's digit-triple split (after Punctuation, ByteLevel and Digits); llama.cpp "falcon".
    static let falconPattern = "[0-9][0-9][0-9]"

    static let recognised = "Llama 3 (llama-bpe), GPT-2 byte-level (gpt-2, or the family's name: olmo, phi-2), BLOOM (bloom), Falcon (falcon), StableLM 2 (stablelm2)"

    /// `byteLevelName` is what a plain GPT-2 byte-level pre-tokenizer is called for this model
    /// family (convert_hf_to_gguf.py names it by the vocabulary's hash, so the same definition
    /// is "gpt-2" for GPT-2, "olmo" for GPT-NeoX-20B's vocabulary and "phi-2" for Phi's; llama.cpp
    /// splits text the same way for all three).
    static func load(directory: URL, vocabularySize: Int, preTokenizer override: String?,
                     byteLevelName: String = "gpt-2") throws -> TokenizerVocabulary {
        let url = directory.appendingPathComponent("tokenizer.json")
        guard let tokenizer = try JSONObject.load(url) else {
            throw ConversionError(
                .missingFile, file: directory.path,
                message: "the checkpoint has neither tokenizer.model (SentencePiece) nor tokenizer.json (BPE)",
                hint: "download the tokenizer files with the weights")
        }
        guard let model = try tokenizer.object("model") else { throw tokenizer.missing("model") }
        let type = try model.string("type")
        let byteFallback = try model.boolean("byte_fallback") ?? false
        guard type == "BPE" else {
            throw ConversionError(.unsupportedTokenizer, file: url.path, subject: "field 'model.type'",
                                  message: "tokenizer type '\(type ?? "none")' is not supported; only BPE and SentencePiece are")
        }
        if byteFallback {
            throw ConversionError(
                .unsupportedTokenizer, file: url.path, subject: "field 'model.byte_fallback'",
                message: "this tokenizer.json is a SentencePiece vocabulary exported to BPE form, and there is no tokenizer.model",
                hint: "add the model's tokenizer.model (the SentencePiece file) to the directory")
        }
        guard let vocab = try model.object("vocab") else { throw model.missing("model.vocab") }
        let pre = try override ?? preTokenizerName(tokenizer, byteLevelName: byteLevelName)

        // id -> text from the model's vocab, then the added tokens on top.
        var byID: [Int: String] = [:]
        for (text, value) in vocab.fields {
            guard let number = value as? NSNumber, let id = JSONObject.integer(number), id >= 0 else {
                throw model.invalid("model.vocab", "token '\(text.prefix(40))' has no integer id")
            }
            byID[id] = text
        }
        var added: [Int: (text: String, special: Bool)] = [:]
        for case let entry as [String: Any] in (try tokenizer.array("added_tokens")) ?? [] {
            guard let number = entry["id"] as? NSNumber, let id = JSONObject.integer(number),
                  let text = entry["content"] as? String else {
                throw tokenizer.invalid("added_tokens", "an added token lacks an integer 'id' or a 'content' string")
            }
            let special = (entry["special"] as? NSNumber).map { JSONObject.isBoolean($0) && $0.boolValue } ?? false
            added[id] = (text, special)
            byID[id] = text
        }
        if let largest = byID.keys.max(), largest >= vocabularySize {
            throw ConversionError(
                .vocabularyMismatch, file: url.path,
                message: "token id \(largest) ('\(byID[largest]!.prefix(40))') is outside config.json's vocab_size \(vocabularySize), which is the token embedding's row count",
                hint: "the tokenizer and the weights come from different models")
        }

        var tokens: [String] = []
        var types: [TokenizerVocabulary.TokenType] = []
        tokens.reserveCapacity(vocabularySize)
        types.reserveCapacity(vocabularySize)
        for id in 0..<vocabularySize {
            guard let text = byID[id] else {
                tokens.append("[PAD\(id)]")
                types.append(.unused)
                continue
            }
            if let extra = added[id] {
                if extra.special || TokenText.looksSpecial(text) {
                    types.append(.control)
                    tokens.append(text)
                } else {
                    types.append(.userDefined)
                    tokens.append(text.replacingOccurrences(of: "\u{2581}", with: " "))
                }
            } else {
                types.append(.normal)
                tokens.append(text)
            }
        }
        let special = try SpecialTokens.load(directory: directory, loadMerges: true, vocabularySize: nil)
        guard !special.merges.isEmpty else {
            throw ConversionError(.invalidTokenizer, file: url.path, subject: "field 'model.merges'",
                                  message: "a BPE tokenizer needs merges and this one has none (nor a merges.txt)")
        }
        return TokenizerVocabulary(model: .gpt2, pre: pre, tokens: tokens, scores: nil, types: types,
                                   merges: special.merges, special: special)
    }

    /// The llama.cpp pre-tokenizer name for tokenizer.json's pre_tokenizer definition.
    static func preTokenizerName(_ tokenizer: JSONObject, byteLevelName: String = "gpt-2") throws -> String {
        let definition = tokenizer.fields["pre_tokenizer"] as? [String: Any]
        let steps = (definition?["pretokenizers"] as? [[String: Any]]) ?? (definition.map { [$0] } ?? [])
        let types = steps.compactMap { $0["type"] as? String }
        let patterns = steps.compactMap { ($0["pattern"] as? [String: Any])?["Regex"] as? String }
        func useRegex(_ i: Int) -> Bool { (steps[i]["use_regex"] as? NSNumber)?.boolValue ?? true }
        if types == ["Split", "ByteLevel"], !useRegex(1) {
            switch patterns {
            case [llama3Pattern]: return "llama-bpe"
            case [bloomPattern]: return "bloom"
            case [stableLM2Pattern]: return "stablelm2"
            default: break
            }
        }
        if types == ["ByteLevel"], useRegex(0) {
            return byteLevelName
        }
        if types == ["Punctuation", "ByteLevel", "Digits", "Split"], useRegex(1), patterns == [falconPattern],
           (steps[2]["individual_digits"] as? NSNumber)?.boolValue == false {
            return "falcon"
        }
        throw ConversionError(
            .unsupportedTokenizer, file: tokenizer.file, subject: "field 'pre_tokenizer'",
            message: "the BPE pre-tokenizer (\(types.joined(separator: " + ")), pattern \(patterns.first.map { "'\($0.prefix(60))'" } ?? "none")) is not one lineage recognises: \(recognised)",
            hint: "name llama.cpp's pre-tokenizer explicitly (lineage quantize --tokenizer-pre NAME) if you know it")
    }
}
