import GGUF

/// What a GGUF file says about where its weights come from: the `general.*` keys llama.cpp
/// defines for provenance (gguf-py's Metadata.set_gguf_meta_model writes the same keys in the
/// same order).
public struct LineageMetadata: Sendable, Equatable {
    public struct BaseModel: Sendable, Equatable {
        public var name: String
        public var organization: String?
        public var repoURL: String?

        public init(name: String, organization: String? = nil, repoURL: String? = nil) {
            self.name = name
            self.organization = organization
            self.repoURL = repoURL
        }

        /// A Hugging Face id ("meta-llama/Llama-2-7b-hf") as gguf-py's Metadata turns a model
        /// card's `base_model` entry into a base model: title-cased name and organization and
        /// the Hub URL. A URL is kept as the repo URL; a bare name has no organization.
        public init(huggingFaceID id: String) {
            if id.hasPrefix("http://") || id.hasPrefix("https://") {
                // "https:", host, then the path ("//" yields no empty part).
                let path = Array(id.split(separator: "/").dropFirst(2))
                if id.contains("huggingface.co"), path.count == 2 {
                    self.init(name: Self.title(String(path[1])), organization: Self.title(String(path[0])), repoURL: id)
                } else {
                    self.init(name: id, repoURL: id)
                }
                return
            }
            let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
            if parts.count == 2, !parts[0].hasPrefix(".") {
                self.init(name: Self.title(parts[1]), organization: Self.title(parts[0]),
                          repoURL: "https://huggingface.co/\(parts[0])/\(parts[1])")
            } else {
                self.init(name: Self.title(parts.last ?? id))
            }
        }

        /// Metadata.id_to_title: dashes to spaces, all-lower-case words title-cased unless they
        /// are versions ("v2", "v1.5") or start with a digit ("7b").
        static func title(_ id: String) -> String {
            id.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: " ")
                .split(separator: " ").map { word -> String in
                    let w = String(word)
                    let isLower = w.contains { $0.isLetter } && !w.contains { $0.isUppercase }
                    let isVersion = w.first?.isNumber == true
                        || (w.first == "v" && w.count > 1 && w.dropFirst().allSatisfy { $0.isNumber || $0 == "." }
                            && w.dropFirst().first?.isNumber == true)
                    guard isLower, !isVersion else { return w }
                    // str.title(): upper-case a letter that follows a non-letter.
                    var out = ""
                    var afterLetter = false
                    for c in w {
                        out += afterLetter ? String(c) : c.uppercased()
                        afterLetter = c.isLetter
                    }
                    return out
                }.joined(separator: " ")
        }
    }

    /// `general.name`.
    public var name: String
    /// `general.license` (an SPDX-like id such as "llama2" or "apache-2.0").
    public var license: String?
    /// `general.source.repo_url`: where these weights were downloaded from.
    public var sourceRepoURL: String?
    /// `general.base_model.*`: the models these weights were derived from, when known.
    public var baseModels: [BaseModel]

    public init(name: String, license: String? = nil, sourceRepoURL: String? = nil, baseModels: [BaseModel] = []) {
        self.name = name
        self.license = license
        self.sourceRepoURL = sourceRepoURL
        self.baseModels = baseModels
    }

    var keyValues: [(key: String, value: GGUFValue)] {
        var kv: [(key: String, value: GGUFValue)] = [("general.name", .string(name))]
        if let license { kv.append(("general.license", .string(license))) }
        if let sourceRepoURL { kv.append(("general.source.repo_url", .string(sourceRepoURL))) }
        if !baseModels.isEmpty {
            kv.append(("general.base_model.count", .uint32(UInt32(baseModels.count))))
            for (i, base) in baseModels.enumerated() {
                kv.append(("general.base_model.\(i).name", .string(base.name)))
                if let org = base.organization { kv.append(("general.base_model.\(i).organization", .string(org))) }
                if let url = base.repoURL { kv.append(("general.base_model.\(i).repo_url", .string(url))) }
            }
        }
        return kv
    }
}
