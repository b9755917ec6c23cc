import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How the daemon writes its log: one JSON object per line (for collectors: journald,
/// Loki, `jq`), or swift-log's text lines (for a person at a terminal).
public enum LogFormat: String, Sendable, CaseIterable {
    case json, text

    /// JSON unless standard error is a terminal.
    public static var standardDefault: LogFormat { isatty(STDERR_FILENO) == 1 ? .text : .json }
}

/// A swift-log handler that writes each record as one line of JSON:
///
/// ```json
/// {"timestamp":"2026-11-29T23:08:17.123Z","level":"info","label":"lineage.daemon","message":"job done","source":"LineageServer","duration":1.52,"job":7,"repo":"acme/tiny","revision":"main"}
/// ```
///
/// The fixed fields come first; the metadata follows, flattened into the top level in key
/// order (a nested dictionary's keys joined with dots, `a.b`), numbers and booleans as JSON
/// numbers and booleans. A metadata key that would shadow a fixed field is written as
/// `metadata.<key>`. Each line goes out in a single `write(2)`, so lines from concurrent tasks
/// never interleave and no lock is needed.
public struct JSONLogHandler: LogHandler {
    /// Where finished lines go (standard error unless a test captures them).
    public typealias Sink = @Sendable (_ line: [UInt8]) -> Void

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    private let sink: Sink
    private let clock: @Sendable () -> Date

    static let fixedFields: Set<String> = ["timestamp", "level", "label", "message", "source"]

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
                sink: @escaping Sink = JSONLogHandler.standardError, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.sink = sink
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = .string("\(error)") }
        sink(Array(Self.render(timestamp: clock(), level: event.level, label: label, message: event.message.description,
                               source: event.source, metadata: merged).utf8))
    }

    /// One record as a line of JSON, newline included.
    public static func render(timestamp: Date, level: Logger.Level, label: String, message: String, source: String,
                              metadata: Logger.Metadata) -> String {
        var pairs: [(String, JSONValue)] = [
            ("timestamp", .string(iso8601(timestamp))), ("level", .string(level.rawValue)), ("label", .string(label)),
            ("message", .string(message)), ("source", .string(source)),
        ]
        var flat: [(String, JSONValue)] = []
        for (key, value) in metadata { flatten(value, key: key, into: &flat) }
        for (key, value) in flat.sorted(by: { $0.0 < $1.0 }) {
            pairs.append((fixedFields.contains(key) ? "metadata.\(key)" : key, value))
        }
        return JSONText.render(.object(pairs)) + "\n"
    }

    private static func flatten(_ value: Logger.MetadataValue, key: String, into flat: inout [(String, JSONValue)]) {
        if case .dictionary(let dictionary) = value {
            for (child, nested) in dictionary { flatten(nested, key: "\(key).\(child)", into: &flat) }
        } else {
            flat.append((key, json(value)))
        }
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let convertible):
            // Counts, byte sizes and durations stay numbers, so a collector can sum and compare them.
            switch convertible {
            case let flag as Bool: return .bool(flag)
            case let number as any BinaryInteger: return Int64(exactly: number).map(JSONValue.int) ?? .string(convertible.description)
            case let number as Double: return number.isFinite ? .number(number) : .string(convertible.description)
            case let number as Float: return number.isFinite ? .number(Double(number)) : .string(convertible.description)
            default: return .string(convertible.description)
            }
        case .array(let items): return .array(items.map(json))
        case .dictionary(let dictionary):
            return .object(dictionary.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
        }
    }

    /// `2026-11-29T23:08:17.123Z`: UTC, milliseconds.
    static func iso8601(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds % 1000))
    }

    /// Writes the line to file descriptor 2 in one call (retrying what a signal interrupts or
    /// a full pipe leaves unwritten).
    public static let standardError: Sink = { line in
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
