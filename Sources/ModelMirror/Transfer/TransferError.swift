/// A transfer that failed for good, saying what was asked of whom and what to do.
public struct TransferError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Tried `attempts` times; the last fault is in `message`.
        case exhausted(attempts: Int)
        /// The upstream said no in a way retrying cannot change (401, 403, 404, ...).
        case refused(status: Int)
        /// The local side failed (staging, disk).
        case local
    }

    public let kind: Kind
    /// The URL without its query (signed URLs carry credentials there).
    public let url: String
    public let message: String

    public var description: String {
        switch kind {
        case .exhausted(let attempts):
            "GET \(url): \(message), gave up after \(attempts) attempt\(attempts == 1 ? "" : "s"); the bytes staged so far are kept and the next sync resumes from them"
        case .refused(let status):
            "GET \(url): HTTP \(status): \(message)"
        case .local:
            "GET \(url): \(message)"
        }
    }

    /// Drops the query and any user:password from a URL before it is shown or logged.
    static func redact(_ url: String) -> String {
        var text = url
        if let query = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<query]) }
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
           !text[scheme.upperBound..<at].contains("/") {
            text = String(text[..<scheme.upperBound]) + String(text[text.index(after: at)...])
        }
        return text
    }
}
