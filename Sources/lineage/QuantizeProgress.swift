import Foundation
import ModelConversion

/// What `lineage quantize` shows while it works: on a terminal one status line redrawn in
/// place (tensor, bytes, rate, ETA); otherwise one plain line per tensor, for logs.
final class QuantizeProgress {
    private let plan: ConversionPlan
    private let output: URL
    private let interactive: Bool
    private let started = Date()
    private var tensorStarted = Date()
    private var lastDraw = Date.distantPast
    private var lineWidth = 0

    init(plan: ConversionPlan, output: URL, interactive: Bool) {
        self.plan = plan
        self.output = output
        self.interactive = interactive
    }

    func start(threads: Int) {
        let types = Dictionary(grouping: plan.tensors, by: { "\($0.type)" }).sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key)" }
        emit("quantizing \(plan.directory.path) to \(plan.preset): \(plan.tensors.count) tensors (\(types.joined(separator: ", "))), "
             + "\(Self.bytes(plan.inputBytes)) -> \(Self.bytes(plan.outputBytes)) on \(threads) thread\(threads == 1 ? "" : "s")")
    }

    func update(_ p: ConversionProgress) {
        let now = Date()
        if interactive {
            guard p.tensorFinished || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let elapsed = now.timeIntervalSince(started)
            let rate = elapsed > 0 ? Double(p.bytesDone) / elapsed : 0
            let eta = rate > 0 ? Double(p.totalBytes - p.bytesDone) / rate : 0
            let line = "[\(p.tensorIndex + 1)/\(p.tensorCount)] \(p.tensorName) \(p.tensorType) "
                + "\(Self.bytes(p.tensorBytesDone))/\(Self.bytes(p.tensorBytes))  total \(Self.bytes(p.bytesDone))/\(Self.bytes(p.totalBytes)) "
                + String(format: "%.0f%%", 100 * Double(p.bytesDone) / Double(max(1, p.totalBytes)))
                + "  \(Self.bytes(Int(rate)))/s  ETA \(Self.duration(eta))"
            let padded = line.padding(toLength: max(lineWidth, line.count), withPad: " ", startingAt: 0)
            lineWidth = line.count
            FileHandle.standardOutput.write(Data(("\r" + padded).utf8))
        } else if p.tensorFinished {
            let seconds = now.timeIntervalSince(tensorStarted)
            let tensor = plan.tensors[p.tensorIndex]
            let shape = tensor.dimensions.map(String.init).joined(separator: " x ")
            emit("[\(p.tensorIndex + 1)/\(p.tensorCount)] \(p.tensorName) [\(shape)] \(p.tensorType) \(Self.bytes(p.tensorBytes)) in "
                 + String(format: "%.2f s", seconds) + ", \(Self.bytes(p.bytesDone)) of \(Self.bytes(p.totalBytes))")
        }
        if p.tensorFinished { tensorStarted = now }
    }

    func finish(_ summary: ConversionSummary) {
        if interactive { FileHandle.standardOutput.write(Data("\n".utf8)) }
        let rate = summary.seconds > 0 ? Double(summary.inputBytes) / summary.seconds : 0
        emit("wrote \(summary.output.path) (\(summary.preset), \(Self.bytes(Int(summary.outputBytes)))) in "
             + String(format: "%.1f s", summary.seconds) + ", \(Self.bytes(Int(rate)))/s")
    }

    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: value < 10 ? "%.2f " : "%.1f ", value) + units[unit]
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
