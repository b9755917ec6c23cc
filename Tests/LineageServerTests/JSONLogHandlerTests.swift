import Foundation
import LineageServer
import Logging
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    /// The lines a handler wrote.
    final class Lines: Sendable {
        private let storage = Mutex<[String]>([])
        func append(_ bytes: [UInt8]) { storage.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        var all: [String] { storage.withLock { $0 } }
    }

    /// A logger whose lines land in `lines`, at a fixed time.
    static func capture(_ lines: Lines) -> Logger {
        var logger = Logger(label: "lineage.test") { label in
            JSONLogHandler(label: label, sink: { lines.append($0) }, clock: { Date(timeIntervalSince1970: 1_796_000_000.123_9) })
        }
        logger.logLevel = Logger.Level.debug
        return logger
    }

    @Test func oneJSONObjectPerLineWithFlattenedTypedMetadata() throws {
        let lines = Lines()
        var logger = Self.capture(lines)
        logger[metadataKey: "daemon"] = "test"
        let metadata: Logger.Metadata = [
            "job": .stringConvertible(7), "duration": .stringConvertible(1.5), "published": .stringConvertible(true),
            "repo": "acme/tiny", "http": ["status": .stringConvertible(404), "path": "/a/b"], "tags": ["a", "b"],
            "message": "shadowed", "huge": .stringConvertible(UInt64.max), "nan": .stringConvertible(Double.nan),
        ]
        logger.info("job \"done\"\nsecond line <b>", metadata: metadata)
        logger.trace("below the level")
        let all = lines.all
        #expect(all.count == 1)
        let line = try #require(all.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false, "one record, one line")
        // The fixed fields first, in this order, then the metadata by key.
        #expect(line.hasPrefix(#"{"timestamp":"2026-11-30T00:53:20.123Z","level":"info","label":"lineage.test","message":"#), "\(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "job \"done\"\nsecond line <b>")
        #expect(object["source"] as? String == "LineageServerTests")
        #expect(object["job"] as? Int == 7)
        #expect(object["duration"] as? Double == 1.5)
        #expect(object["published"] as? Bool == true)
        #expect(object["repo"] as? String == "acme/tiny")
        #expect(object["http.status"] as? Int == 404)
        #expect(object["http.path"] as? String == "/a/b")
        #expect(object["tags"] as? [String] == ["a", "b"])
        #expect(object["metadata.message"] as? String == "shadowed")
        #expect(object["daemon"] as? String == "test")
        #expect(object["huge"] as? String == "18446744073709551615")
        #expect(object["nan"] as? String == "nan")
        let keys = Array(object.keys).sorted()
        #expect(keys == ["daemon", "duration", "http.path", "http.status", "huge", "job", "label", "level", "message",
                         "metadata.message", "nan", "published", "repo", "source", "tags", "timestamp"])
    }

    @Test func anErrorPassedToTheLoggerIsWrittenToo() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk on fire" } }
        let lines = Lines()
        let logger = Self.capture(lines)
        logger.error("write failed", error: Broken())
        let line = try #require(lines.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "error")
        #expect(object["error"] as? String == "disk on fire")
    }
}
