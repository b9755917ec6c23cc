import Foundation
import GGUF

/// Special token ids, "add this token" flags and the chat template, worked out the way
/// gguf-py's SpecialVocab does (gguf/vocab.py): first from tokenizer_config.json's
/// `<type>_token` matched against tokenizer.json's `added_tokens` (with the post-processor's
/// template deciding the add flags), then from config.json's `<type>_token_id`. The first
/// source to give an id wins; flags keep the position of their first setting, like a Python
/// dict, because that is the order the keys are written in.
public struct SpecialTokens: Sendable, Equatable {
    public struct Entry<Value: Sendable & Equatable>: Sendable, Equatable {
        public var kind: String
        public var value: Value
    }

    public enum ChatTemplate: Sendable, Equatable {
        case single(String)
        /// Named templates (tokenizer_config.json's list form or additional_chat_templates/).
        case named([Entry<String>])
    }

    /// Token ids in the order they were found (bos, eos, unk, sep, pad, cls, mask, eot, eom...).
    public var ids: [Entry<Int>] = []
    /// add_bos / add_eos / add_sep flags, in the order they were first set.
    public var addFlags: [Entry<Bool>] = []
    public var chatTemplate: ChatTemplate?
    /// BPE merges found next to the tokenizer (only when asked for).
    public var merges: [String] = []

    /// The GGUF key of each special token kind gguf-py's writer has a handler for
    /// (`add_<kind>_token_id`); others (cls) are skipped as gguf-py skips them.
    static let idKeys: [String: String] = [
        "bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id",
        "unk": "tokenizer.ggml.unknown_token_id", "sep": "tokenizer.ggml.seperator_token_id",
        "pad": "tokenizer.ggml.padding_token_id", "mask": "tokenizer.ggml.mask_token_id",
        "eot": "tokenizer.ggml.eot_token_id", "eom": "tokenizer.ggml.eom_token_id",
    ]
    static let addKeys: [String: String] = [
        "bos": "tokenizer.ggml.add_bos_token", "eos": "tokenizer.ggml.add_eos_token",
        "sep": "tokenizer.ggml.add_sep_token",
    ]

    public func id(of kind: String) -> Int? { ids.first { $0.kind == kind }?.value }
    public func add(_ kind: String) -> Bool? { addFlags.first { $0.kind == kind }?.value }

    /// SpecialVocab.add_to_gguf minus the merges (the vocabulary writes those first).
    var keyValues: [(key: String, value: GGUFValue)] {
        var kv: [(key: String, value: GGUFValue)] = []
        for entry in ids {
            if let key = Self.idKeys[entry.kind] { kv.append((key, .uint32(UInt32(entry.value)))) }
        }
        for entry in addFlags {
            if let key = Self.addKeys[entry.kind] { kv.append((key, .bool(entry.value))) }
        }
        switch chatTemplate {
        case .single(let text):
            kv.append(("tokenizer.chat_template", .string(text)))
        case .named(let templates):
            // GGUFWriter.add_chat_template: non-default names get their own key and a list;
            // the default one is the plain key.
            var names: [String] = []
            for t in templates where t.kind != "default" {
                kv.append(("tokenizer.chat_template.\(t.kind)", .string(t.value)))
                names.append(t.kind)
            }
            if !names.isEmpty { kv.append(("tokenizer.chat_templates", .stringArray(names))) }
            if let main = templates.first(where: { $0.kind == "default" }) {
                kv.append(("tokenizer.chat_template", .string(main.value)))
            }
        case nil:
            break
        }
        return kv
    }

    mutating func setID(_ kind: String, _ id: Int, vocabularySize: Int?, file: String) throws {
        guard id >= 0 else {
            throw ConversionError(.invalidTokenizer, file: file, subject: "\(kind) token",
                                  message: "special token id \(id) is negative")
        }
        if let vocabularySize, id >= vocabularySize { return }  // SpecialVocab warns and skips
        if ids.contains(where: { $0.kind == kind }) { return }
        ids.append(Entry(kind: kind, value: id))
    }

    mutating func setAdd(_ kind: String, _ value: Bool) {
        if let i = addFlags.firstIndex(where: { $0.kind == kind }) {
            addFlags[i].value = value
        } else {
            addFlags.append(Entry(kind: kind, value: value))
        }
    }
}

extension SpecialTokens {
    /// A tokenizer_config.json `<type>_token` value: a string, an AddedToken object, or
    /// something else. SpecialVocab compares the raw values, so an object never equals a string.
    enum ConfigToken: Equatable {
        case string(String)
        case other

        init?(_ any: Any?) {
            guard let any, !(any is NSNull) else { return nil }
            if let s = any as? String {
                if s.isEmpty { return nil }  // Python treats "" as falsy
                self = .string(s)
            } else {
                self = .other
            }
        }

        /// The token text: the string, or the object's `content`.
        static func content(_ any: Any?) -> String? {
            if let s = any as? String { return s }
            if let o = any as? [String: Any] { return o["content"] as? String }
            return nil
        }
    }

    /// Loads the special tokens of the checkpoint in `directory`, as
    /// `SpecialVocab(directory, load_merges:, n_vocab:)` does.
    static func load(directory: URL, loadMerges: Bool, vocabularySize: Int?,
                     kinds initialKinds: [String] = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]) throws -> SpecialTokens {
        var result = SpecialTokens()
        var kinds = initialKinds
        let tokenizerJSON = try JSONObject.load(directory.appendingPathComponent("tokenizer.json"))
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let tokenizerConfigObject = try JSONObject.load(configURL)
        var tokenizerConfig = tokenizerConfigObject?.fields
        var addedTokens: [[String: Any]] = []

        if let tokenizerJSON {
            if loadMerges { result.merges = try mergesOf(tokenizerJSON) }
            addedTokens = (tokenizerJSON.fields["added_tokens"] as? [[String: Any]]) ?? []

            var bos = ConfigToken(tokenizerConfig?["bos_token"])
            let cls = ConfigToken(tokenizerConfig?["cls_token"])
            var eos = ConfigToken(tokenizerConfig?["eos_token"])
            var sep = ConfigToken(tokenizerConfig?["sep_token"])
            if bos == nil, let cls, tokenizerConfig != nil {
                let copied = tokenizerConfig?["cls_token"]
                tokenizerConfig?["bos_token"] = copied
                bos = cls
            }
            if eos == nil, let sep, tokenizerConfig != nil {
                let copied = tokenizerConfig?["sep_token"]
                tokenizerConfig?["eos_token"] = copied
                eos = sep
            }
            var cls2 = cls
            if let postProcessor = tokenizerJSON.fields["post_processor"] as? [String: Any] {
                let processors = (postProcessor["processors"] as? [[String: Any]]) ?? [postProcessor]
                for processor in processors {
                    let type = processor["type"] as? String
                    if type == "RobertaProcessing" {
                        result.setAdd("bos", true)
                        result.setAdd("eos", true)
                        result.setAdd("sep", true)
                        if cls2 == nil, tokenizerConfig != nil {
                            let value = (processor["cls"] as? [Any])?.first
                            tokenizerConfig?["cls_token"] = value
                            cls2 = ConfigToken(value)
                        }
                        if sep == nil, tokenizerConfig != nil {
                            let value = (processor["sep"] as? [Any])?.first
                            tokenizerConfig?["sep_token"] = value
                            sep = ConfigToken(value)
                        }
                        continue
                    }
                    guard type == "TemplateProcessing" else { continue }
                    // SpecialVocab's "crude parsing" of the template, decision for decision.
                    let single = (processor["single"] as? [[String: Any]]) ?? []
                    var pair = (processor["pair"] as? [[String: Any]]) ?? []
                    var first: String?
                    var last: String?
                    func specialID(_ item: [String: Any]?) -> String? {
                        ((item?["SpecialToken"] as? [String: Any])?["id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                    }
                    func sequenceID(_ item: [String: Any]?) -> String? {
                        (item?["Sequence"] as? [String: Any])?["id"] as? String
                    }
                    if single.count > 1 {
                        if let f = specialID(single.first) {
                            first = f
                            if tokenizerConfig == nil { bos = .string(f) }
                            result.setAdd("bos", bos == .string(f) || cls2 == .string(f))
                        }
                        if let l = specialID(single.last) {
                            last = l
                            if tokenizerConfig == nil {
                                eos = .string(l)
                            } else if eos != .string(l) {
                                if !kinds.contains("eot") {
                                    kinds.append("eot")
                                    let copied = tokenizerConfig?["eos_token"]
                                    tokenizerConfig?["eot_token"] = copied
                                } else if !kinds.contains("eom") {
                                    kinds.append("eom")
                                    let copied = tokenizerConfig?["eos_token"]
                                    tokenizerConfig?["eom_token"] = copied
                                }
                                tokenizerConfig?["eos_token"] = l
                                eos = .string(l)
                            }
                            result.setAdd("eos", eos == .string(l))
                        }
                    }
                    if !pair.isEmpty {
                        let start = first != nil && specialID(pair.first) == first ? 1 : 0
                        let stopAtEnd = !(last != nil && specialID(pair.last) == last)
                        let end = stopAtEnd ? pair.count : pair.count - 1
                        pair = start < end ? Array(pair[start..<end]) : []
                        if !pair.isEmpty {
                            let a = sequenceID(pair.first), b = sequenceID(pair.last)
                            if a == "A", b == "B", pair.count > 2 {
                                let middle = Array(pair[1..<(pair.count - 1)])
                                var addSep = false
                                if let entry = specialID(middle.first), entry == sepString(sep) || entry == sepString(eos), last == nil {
                                    addSep = true
                                }
                                if middle.count == 2, let entry = specialID(middle[1]),
                                   entry == sepString(sep) || entry == sepString(eos) {
                                    addSep = true
                                }
                                result.setAdd("sep", addSep)
                                if addSep, sep == nil, tokenizerConfig != nil {
                                    let copied = tokenizerConfig?["eos_token"]
                                    tokenizerConfig?["sep_token"] = copied
                                }
                            }
                        }
                    }
                }
            }
        }

        if let tokenizerConfig {
            result.chatTemplate = try chatTemplate(config: tokenizerConfig, directory: directory, file: configURL.path)
            for kind in kinds {
                if let flag = tokenizerConfig["add_\(kind)_token"] as? NSNumber, JSONObject.isBoolean(flag) {
                    result.setAdd(kind, flag.boolValue)
                }
                guard let content = ConfigToken.content(tokenizerConfig["\(kind)_token"]) else { continue }
                // SpecialVocab takes the first added token with that content.
                guard let match = addedTokens.first(where: { ($0["content"] as? String) == content }),
                      let number = match["id"] as? NSNumber, let id = JSONObject.integer(number) else { continue }
                try result.setID(kind, id, vocabularySize: vocabularySize, file: configURL.path)
            }
        }

        // config.json's <type>_token_id (or text_config's), for the kinds still unset.
        if let config = try JSONObject.load(directory.appendingPathComponent("config.json")) {
            let textConfig = config.fields["text_config"] as? [String: Any]
            for kind in kinds {
                let value = config.fields["\(kind)_token_id"] ?? textConfig?["\(kind)_token_id"]
                guard let number = value as? NSNumber, !JSONObject.isBoolean(number), let id = JSONObject.integer(number) else { continue }
                try result.setID(kind, id, vocabularySize: vocabularySize, file: config.file)
            }
        }

        if loadMerges && result.merges.isEmpty {
            result.merges = try mergesFromText(directory.appendingPathComponent("merges.txt"))
        }
        return result
    }

    private static func sepString(_ token: ConfigToken?) -> String? {
        if case .string(let s) = token { return s }
        return nil
    }

    /// tokenizer.json `model.merges`: "a b" strings, or (transformers >= 4.45) [a, b] pairs
    /// whose spaces gguf-py encodes as U+0120 so that the pair stays splittable on " ".
    static func mergesOf(_ tokenizer: JSONObject) throws -> [String] {
        guard let model = tokenizer.fields["model"] as? [String: Any], let merges = model["merges"] as? [Any], !merges.isEmpty else {
            return []
        }
        if let strings = merges as? [String] { return strings }
        if let pairs = merges as? [[String]], pairs.allSatisfy({ $0.count == 2 }) {
            return pairs.map { pair in
                pair.map { String($0.unicodeScalars.map { $0 == " " ? "\u{0120}" : Character($0) }) }.joined(separator: " ")
            }
        }
        throw ConversionError(.invalidTokenizer, file: tokenizer.file, subject: "field 'model.merges'",
                              message: "merges are neither \"a b\" strings nor [a, b] pairs")
    }

    /// SpecialVocab._try_load_merges_txt: one "a b" pair per line, an optional "#" header.
    static func mergesFromText(_ url: URL) throws -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let first = lines.first, first.trimmingCharacters(in: .whitespaces).hasPrefix("#") { lines.removeFirst() }
        return lines.compactMap { line in
            let parts = line.split(whereSeparator: { $0.isWhitespace })
            return parts.count == 2 ? "\(parts[0]) \(parts[1])" : nil
        }
    }

    /// tokenizer_config.json's chat_template wins over chat_template.jinja / chat_template.json.
    private static func chatTemplate(config: [String: Any], directory: URL, file: String) throws -> ChatTemplate? {
        var alternative: ChatTemplate?
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        let json = directory.appendingPathComponent("chat_template.json")
        if let text = try? String(contentsOf: jinja, encoding: .utf8) {
            let extra = directory.appendingPathComponent("additional_chat_templates")
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: extra.path)) ?? [])
                .filter { $0.hasSuffix(".jinja") }.sorted()
            if files.isEmpty {
                alternative = .single(text)
            } else {
                var named = [Entry(kind: "default", value: text)]
                for name in files {
                    let body = (try? String(contentsOf: extra.appendingPathComponent(name), encoding: .utf8)) ?? ""
                    named.append(Entry(kind: String(name.dropLast(6)), value: body))
                }
                alternative = .named(named)
            }
        } else if let object = try JSONObject.load(json), let value = object.fields["chat_template"] {
            alternative = try parseTemplate(value, file: json.path)
        }
        guard config.keys.contains("chat_template") else { return alternative }
        return try parseTemplate(config["chat_template"] as Any, file: file)
    }

    private static func parseTemplate(_ value: Any, file: String) throws -> ChatTemplate? {
        if value is NSNull { return nil }
        if let text = value as? String { return .single(text) }
        if let list = value as? [[String: Any]] {
            // GGUFWriter keeps only names made of letters and digits, others become "_".
            let named = list.compactMap { item -> Entry<String>? in
                guard let template = item["template"] as? String else { return nil }
                let raw = (item["name"] as? String) ?? ""
                let name = String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
                return name.isEmpty ? nil : Entry(kind: name, value: template)
            }
            return .named(named)
        }
        return nil  // SpecialVocab warns about a bad type and ignores it
    }
}
