/// What a `base_model` (or adapter `base_model_name_or_path`) string refers to.
public enum ModelReference: Equatable, Sendable {
    /// A Hugging Face repo id, `org/name` (or a legacy un-namespaced id such as `gpt2`).
    case hub(String)
    /// A path on somebody's disk (`/workspace/out`, `./ckpt`, `C:\models\x`): common in the
    /// wild, never a node.
    case localPath(String)
    /// Anything else (a URL, an empty string, spaces).
    case invalid(String)

    public init(_ raw: String) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if let prefix = ["https://huggingface.co/", "http://huggingface.co/", "hf://"].first(where: text.hasPrefix) {
            let rest = text.dropFirst(prefix.count).split(separator: "/").prefix(2).joined(separator: "/")
            self = HubRepoID.isValid(rest) ? .hub(rest) : .invalid(raw)
        } else if text.hasPrefix("/") || text.hasPrefix("./") || text.hasPrefix("../") || text.hasPrefix("~")
            || text.contains("\\") || (text.count > 1 && text.dropFirst().hasPrefix(":")) || text.hasPrefix(".")
            || text.split(separator: "/").count > 2 {
            self = .localPath(raw)
        } else if HubRepoID.isValid(text) {
            self = .hub(text)
        } else {
            self = .invalid(raw)
        }
    }
}
