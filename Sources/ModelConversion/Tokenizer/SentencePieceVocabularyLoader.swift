import Foundation

/// Builds a "llama" (SentencePiece) vocabulary as convert_hf_to_gguf.py's
/// _create_vocab_sentencepiece and _set_vocab_sentencepiece do.
enum SentencePieceVocabularyLoader {
    static func load(directory: URL, vocabularySize: Int, configFile: String) throws -> TokenizerVocabulary {
        let modelURL = directory.appendingPathComponent("tokenizer.model")
        let model = try SentencePieceModel.read(contentsOf: modelURL)
        guard model.pieces.count <= vocabularySize else {
            throw ConversionError(
                .vocabularyMismatch, file: modelURL.path,
                message: "the tokenizer has \(model.pieces.count) pieces but config.json's vocab_size (and the token embedding) is \(vocabularySize)",
                hint: "the tokenizer and the weights come from different models; use the tokenizer.model that belongs to \(configFile)")
        }
        // Ids the tokenizer does not cover stay "[PAD<id>]", score -10000, unused.
        var tokens = (0..<vocabularySize).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: vocabularySize)
        var types = [TokenizerVocabulary.TokenType](repeating: .unused, count: vocabularySize)
        var warnings: [String] = []
        for (id, piece) in model.pieces.enumerated() {
            tokens[id] = piece.text
            scores[id] = piece.score
            // The converter asks IsUnknown, IsControl, IsUnused, IsByte in that order and calls
            // everything else normal: user-defined pieces become NORMAL.
            switch piece.type {
            case .unknown: types[id] = .unknown
            case .control: types[id] = .control
            case .unused: types[id] = .unused
            case .byte: types[id] = .byte
            case .normal, .userDefined: types[id] = .normal
            }
        }

        // added_tokens.json: user-defined tokens, score -1000.
        let addedURL = directory.appendingPathComponent("added_tokens.json")
        if let added = try JSONObject.load(addedURL) {
            let entries = try added.fields.keys.map { key in (id: try added.integer(key) ?? -1, key: key) }
                .sorted { ($0.id, $0.key) < ($1.id, $1.key) }
            for (id, key) in entries {
                guard id >= 0, id < vocabularySize else {
                    warnings.append("\(addedURL.lastPathComponent): token '\(key)' has id \(id), outside the vocabulary of \(vocabularySize); ignored")
                    continue
                }
                tokens[id] = key
                scores[id] = -1000
                types[id] = .userDefined
            }
        }

        // tokenizer_config.json added_tokens_decoder: control when special (or looking special),
        // else user-defined with "▁" turned back into spaces; score -1000.
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        if let config = try JSONObject.load(configURL), let decoder = try config.object("added_tokens_decoder") {
            let entries = try decoder.fields.keys.map { key -> (Int, [String: Any]) in
                guard let id = Int(key), let data = decoder.fields[key] as? [String: Any] else {
                    throw decoder.invalid("added_tokens_decoder", "entry '\(key)' is not an id with a token object")
                }
                return (id, data)
            }.sorted { $0.0 < $1.0 }
            for (id, data) in entries {
                guard let content = data["content"] as? String else {
                    throw decoder.invalid("added_tokens_decoder", "token \(id) has no 'content' string")
                }
                guard id < vocabularySize else {
                    warnings.append("\(configURL.lastPathComponent): added token '\(content)' has id \(id), outside the vocabulary of \(vocabularySize); ignored")
                    continue
                }
                let special = (data["special"] as? NSNumber).map { JSONObject.isBoolean($0) && $0.boolValue } ?? false
                if special || TokenText.looksSpecial(content) {
                    types[id] = .control
                    tokens[id] = content
                } else {
                    types[id] = .userDefined
                    tokens[id] = content.replacingOccurrences(of: "\u{2581}", with: " ")
                }
                scores[id] = -1000
            }
        }

        var vocabulary = TokenizerVocabulary(
            model: .llama, pre: "default", tokens: tokens, scores: scores, types: types, merges: [],
            special: try SpecialTokens.load(directory: directory, loadMerges: false, vocabularySize: vocabularySize))
        vocabulary.warnings = warnings
        return vocabulary
    }
}

/// TextModel.does_token_look_special: added tokens some models forget to mark special.
enum TokenText {
    static func looksSpecial(_ text: String) -> Bool {
        if ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text) { return true }
        if text.hasPrefix("<|") && text.hasSuffix("|>") { return true }
        if text.hasPrefix("<\u{FF5C}") && text.hasSuffix("\u{FF5C}>") { return true }
        if text.hasPrefix("<unused") && text.hasSuffix(">") { return true }
        return false
    }
}
