import ArgumentParser
import Dispatch
import Foundation
import GGUF
import ModelConversion
import ModelIngest
import ModelMirror

extension QuantizationPreset: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

struct QuantizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Convert a Hugging Face Llama checkpoint (safetensors) to a GGUF file, byte-identical to llama.cpp's llama-quantize.",
        discussion: """
            DIR holds config.json, the tokenizer (tokenizer.model or tokenizer.json) and the \
            *.safetensors weights; or name a mirrored repo, ORG/NAME[@REV] (a branch, tag or \
            commit; default: the revision it follows), read from the store's verified blobs. Tensors are read one at a time from the memory-mapped shards and \
            quantized on every core. The file's provenance keys (general.name, general.license, \
            general.base_model.*, general.source.repo_url) come from the options, else from the \
            README's front matter and the Hugging Face cache path.
            """
    )

    @Argument(help: ArgumentHelp("The checkpoint directory, or a mirrored repo ORG/NAME[@REV].", valueName: "dir|repo[@rev]"))
    var directory: String

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: [.customShort("t"), .customLong("type")], help: ArgumentHelp("The preset: \(QuantizationPreset.names).", valueName: "type"))
    var preset: QuantizationPreset

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The GGUF to write (default: NAME-TYPE.gguf in the current directory).", valueName: "file"))
    var output: String?

    @Option(name: .long, help: "Worker threads (default: every core).")
    var threads: Int?

    @Option(name: .long, help: "general.name (default: the README's model_name, else the repo or folder name).")
    var name: String?

    @Option(name: .customLong("base-model"), help: ArgumentHelp("A model these weights derive from (Hub id or URL); repeat for several. Default: the README's base_model.", valueName: "id"))
    var baseModels: [String] = []

    @Option(name: .customLong("source-repo"), help: ArgumentHelp("Where the weights come from (Hub id or URL); default: the Hugging Face cache path.", valueName: "id"))
    var sourceRepo: String?

    @Option(name: .customLong("tokenizer-pre"), help: ArgumentHelp("llama.cpp's pre-tokenizer name for a BPE tokenizer lineage does not recognise.", valueName: "name"))
    var tokenizerPre: String?

    @Flag(name: .customLong("allow-f16-fallback"), help: "Store tensors whose rows no quantized block divides as F16, as llama.cpp does, instead of failing.")
    var allowF16Fallback = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        var checkpoint = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: checkpoint.path, isDirectory: &isDirectory) {
            let reference = directory
            let storeOptions = storeOptions
            try await runReportingAsync {
                checkpoint = try await Self.mirroredSnapshot(reference, storeOptions: storeOptions)
            }
        }
        try convert(checkpoint)
    }

    /// The cache-view folder of a mirrored repo's commit (its files are hard links to the
    /// store's verified blobs).
    static func mirroredSnapshot(_ reference: String, storeOptions: StoreOptions) async throws -> URL {
        let parts = reference.split(separator: "@", maxSplits: 1).map(String.init)
        guard let id = try? RepoID.validate(parts[0]) else {
            throw CommandFailure("\(reference) is neither a directory nor a mirrored repo ORG/NAME[@REV]")
        }
        let revision = parts.count > 1 ? parts[1] : nil
        return try await withMirror(storeOptions) { mirror in
            guard let repo = try await mirror.metadata.repo(id) else {
                throw CommandFailure("\(reference) is neither a directory nor a tracked repo; `lineage mirror ls` lists them")
            }
            guard let published = try await mirror.metadata.resolve(repo, revision: revision) else {
                throw CommandFailure("\(id) has no published commit \(revision.map { "'\($0)'" } ?? "yet"); run `lineage mirror sync \(id)`")
            }
            return mirror.snapshotDirectory(id, commit: published.commit)
        }
    }

    func convert(_ dir: URL) throws {
        try runReporting {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandFailure("\(directory) is not a directory; give a checkpoint folder (config.json, tokenizer, *.safetensors)")
            }
            let lineage = try QuantizationProvenance.metadata(directory: dir, name: name, baseModels: baseModels, sourceRepo: sourceRepo)
            var options = ConversionOptions(preset: preset, lineage: lineage, tokenizerPre: tokenizerPre, allowF16Fallback: allowF16Fallback)
            if let threads { options.threads = threads }
            let plan = try ModelConverter.plan(directory: dir, options: options)
            for warning in plan.warnings { Terminal.warning(warning) }

            let defaultName = (lineage.name.split(separator: "/").last.map(String.init) ?? lineage.name)
                .replacingOccurrences(of: " ", with: "-")
            let target = URL(fileURLWithPath: output ?? "\(defaultName)-\(preset).gguf").standardizedFileURL
            let progress = QuantizeProgress(plan: plan, output: target, interactive: isatty(STDOUT_FILENO) != 0)
            let cleanup = PartialFileCleanup(removing: GGUFWriter.partialURL(for: target))
            progress.start(threads: options.threads)
            let summary = try plan.write(to: target, options: options) { progress.update($0) }
            cleanup.disarm()
            progress.finish(summary)
        }
    }
}

/// Removes the half-written GGUF when the user interrupts (SIGINT, SIGTERM, SIGHUP): the
/// process then ends without unwinding, so the writer's own cleanup never runs.
final class PartialFileCleanup {
    private var sources: [DispatchSourceSignal] = []

    init(removing partial: URL) {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                unlink(partial.path)
                FileHandle.standardError.write(Data("\nlineage: interrupted; removed the unfinished \(partial.lastPathComponent)\n".utf8))
                exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Back to the default signal handling once the file is complete.
    func disarm() {
        for source in sources { source.cancel() }
        for number in [SIGINT, SIGTERM, SIGHUP] { signal(number, SIG_DFL) }
    }
}
