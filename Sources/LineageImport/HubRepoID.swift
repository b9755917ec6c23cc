/// The Hub's rule for a repo id, as huggingface_hub's `validate_repo_id` applies it: `name` or
/// `namespace/name`; each part 1 to 96 ASCII letters, digits, `-`, `_` and `.`, neither
/// starting nor ending with `-` or `.`; no `--` or `..` anywhere; not ending in `.git`.
///
/// The one rule for both places that ask: whether a card's `base_model` names a Hub repo
/// (`ModelReference`), and whether an id may name a mirrored repo (ModelMirror's `RepoID`),
/// which becomes folders in the store and the `models--org--name` cache folder, where `--`
/// is the separator and `..` would climb out.
public enum HubRepoID {
    /// Why `id` is not a Hub repo id, or nil when it is one.
    public static func problem(with id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return "it has \(parts.count) components, not 1 or 2" }
        for part in parts {
            guard !part.isEmpty else { return "empty component" }
            guard part.utf8.count <= 96, part.utf8.allSatisfy(isAllowed) else {
                return "only letters, digits, '-', '_' and '.' (at most 96) per component"
            }
            guard let first = part.utf8.first, let last = part.utf8.last, !isPunctuation(first), !isPunctuation(last) else {
                return "a component may not start or end with '-' or '.'"
            }
        }
        if id.contains("--") { return "'--' would be ambiguous in the cache folder name" }
        if id.contains("..") { return "'..' is not allowed" }
        if id.hasSuffix(".git") { return "it ends in '.git'" }
        return nil
    }

    public static func isValid(_ id: String) -> Bool { problem(with: id) == nil }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
            || byte == 0x5f || isPunctuation(byte)
    }

    /// `-` and `.`: allowed inside a part, not at its ends.
    private static func isPunctuation(_ byte: UInt8) -> Bool { byte == 0x2d || byte == 0x2e }
}
