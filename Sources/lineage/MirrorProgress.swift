import Foundation
import ModelMirror
#if canImport(Glibc)
import Glibc
#endif

/// Shows what the mirror is doing: on a terminal, a live display (per file and in total:
/// bytes, rate, ETA) redrawn a few times a second on standard error; otherwise plain log
/// lines, one per event that matters, for CI logs and journald.
actor MirrorProgress {
    private struct FileState {
        var size: Int64
        var done: Int64
        var started: ContinuousClock.Instant
        var resumedFrom: Int64
    }

    private let interactive: Bool
    private var files: [String: FileState] = [:]
    private var order: [String] = []
    private var totalBytes: Int64 = 0
    private var doneBytes: Int64 = 0
    private var started = ContinuousClock.now
    private var drawnLines = 0
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var scrubbed: Int64 = 0

    init(interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.interactive = interactive
    }

    /// Consumes events until the stream ends.
    func run(_ events: AsyncStream<MirrorEvent>) async {
        for await event in events { handle(event) }
        clear()
    }

    private func handle(_ event: MirrorEvent) {
        switch event {
        case .resolving(let repo):
            log("\(repo): fetching upstream state")
        case .resolved(let repo, let commit, let count, let bytes, let toFetch, let bytesToFetch):
            totalBytes += bytesToFetch
            log("\(repo): commit \(commit.prefix(12)), \(count) file\(count == 1 ? "" : "s") (\(Self.bytes(bytes))); \(toFetch) to fetch (\(Self.bytes(bytesToFetch)))")
        case .fileStarted(let repo, let path, let size, let resumedFrom):
            let key = "\(repo)/\(path)"
            files[key] = FileState(size: size, done: resumedFrom, started: .now, resumedFrom: resumedFrom)
            order.append(key)
            doneBytes += resumedFrom
            if !interactive {
                log("\(repo): fetch \(path) (\(Self.bytes(size)))" + (resumedFrom > 0 ? ", resuming at \(Self.bytes(resumedFrom))" : ""))
            }
        case .fileProgress(let repo, let path, let bytes):
            files["\(repo)/\(path)"]?.done += bytes
            doneBytes += bytes
        case .fileRetry(let repo, let path, let attempt, let reason, let delay):
            log("\(repo): \(path): \(reason); attempt \(attempt) in \(String(format: "%.1f", delay.seconds)) s")
        case .fileFinished(let repo, let path, let failure):
            let key = "\(repo)/\(path)"
            if let state = files.removeValue(forKey: key) {
                order.removeAll { $0 == key }
                if failure == nil && !interactive {
                    let elapsed = (ContinuousClock.now - state.started).seconds
                    log("\(repo): verified \(path) (\(Self.bytes(state.size)) in \(String(format: "%.1f", elapsed)) s, \(Self.rate(Double(state.done - state.resumedFrom), elapsed)))")
                }
            }
            if let failure { log("\(repo): FAILED \(path): \(failure)") }
        case .published(let repo, let commit):
            log("\(repo): published \(commit.prefix(12))")
        case .scrubProgress(let bytes):
            scrubbed += bytes
        case .note(let text):
            log(text)
        }
        if interactive { draw() }
    }

    private func log(_ line: String) {
        clear()
        FileHandle.standardError.write(Data("\(line)\n".utf8))
        drawnLines = 0
    }

    private func clear() {
        guard interactive, drawnLines > 0 else { return }
        FileHandle.standardError.write(Data((String(repeating: "\u{1b}[1A\u{1b}[2K", count: drawnLines) + "\r").utf8))
        drawnLines = 0
    }

    private func draw() {
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(200) else { return }
        lastDraw = now
        clear()
        var lines: [String] = []
        for key in order.prefix(8) {
            guard let state = files[key] else { continue }
            let elapsed = (now - state.started).seconds
            let rate = elapsed > 0 ? Double(state.done - state.resumedFrom) / elapsed : 0
            lines.append("  \(Self.fit(key, 48)) \(Self.bytes(state.done).padding(9)) / \(Self.bytes(state.size).padding(9)) \(Self.rate(Double(state.done - state.resumedFrom), elapsed).padding(11)) ETA \(Self.eta(Double(state.size - state.done), rate))")
        }
        if order.count > 8 { lines.append("  … and \(order.count - 8) more") }
        let elapsed = (now - started).seconds
        let rate = elapsed > 0 ? Double(doneBytes) / elapsed : 0
        if totalBytes > 0 {
            lines.append("total \(Self.bytes(doneBytes)) / \(Self.bytes(totalBytes))  \(Self.rate(Double(doneBytes), elapsed))  ETA \(Self.eta(Double(totalBytes - doneBytes), rate))")
        } else if scrubbed > 0 {
            lines.append("scrubbed \(Self.bytes(scrubbed))  \(Self.rate(Double(scrubbed), elapsed))")
        }
        guard !lines.isEmpty else { return }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        drawnLines = lines.count
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func rate(_ bytes: Double, _ seconds: Double) -> String {
        guard seconds > 0.05 else { return "-" }
        return Self.bytes(Int64(bytes / seconds)) + "/s"
    }

    static func eta(_ remaining: Double, _ rate: Double) -> String {
        guard rate > 0, remaining > 0 else { return "-" }
        let seconds = Int(remaining / rate)
        return seconds >= 3600 ? String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
            : String(format: "%d:%02d", seconds / 60, seconds % 60)
    }

    static func fit(_ text: String, _ width: Int) -> String {
        if text.count > width { return "…" + text.suffix(width - 1) }
        return text.padding(width)
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
