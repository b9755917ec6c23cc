import ArgumentParser
import Foundation
import ModelMirror

struct MirrorVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash every blob in the store (a scrub), on every core; quarantine what rotted.",
        discussion: "Exits non-zero when anything rotted or went missing; `lineage mirror sync` fetches it again."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Files hashed at once (default: the number of cores).")
    var workers: Int?

    func run() async throws {
        let workers = self.workers
        try await runReportingAsync {
            let report = try await withMirror(storeOptions, progress: true) { mirror in try await mirror.verify(workers: workers) }
            let rate = report.seconds > 0 ? Double(report.bytes) / report.seconds : 0
            print("verified \(report.blobs) blobs, \(MirrorProgress.bytes(report.bytes)) in \(String(format: "%.2f", report.seconds)) s (\(MirrorProgress.bytes(Int64(rate)))/s, \(report.workers) workers)")
            for rotten in report.rotten {
                Terminal.error("rotten blob sha256:\(rotten.digest.hex): now hashes to \(rotten.actual); moved to \(rotten.location); used by \(rotten.files.isEmpty ? "no file" : rotten.files.joined(separator: ", ")). Run `lineage mirror sync` to fetch it again")
            }
            for missing in report.missing {
                Terminal.error("missing blob sha256:\(missing.hex): recorded but gone from the disk. Run `lineage mirror sync` to fetch it again")
            }
            for error in report.errors { Terminal.error(error) }
            if !report.clean { throw ExitCode.failure }
        }
    }
}
