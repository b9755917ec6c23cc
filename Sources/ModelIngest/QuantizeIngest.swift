import Crypto
import Dispatch
import Foundation
import GGUF
import LineageGraph
import LineageStore
import ModelConversion
import ModelMirror

/// Quantize on ingest: each preset a mirrored repo asks for (`quantize: [Q8_0, Q4_K_M]`) is
/// made from a published commit's stored blobs, streamed into the store through the staged
/// hashed write, recorded as an artifact, published as the repo `org/name-GGUF` (files
/// `name-PRESET.gguf`) and added to the lineage graph with a `quantized` edge to its source.
///
/// It lives above ModelMirror and ModelConversion so that neither depends on the other: the
/// mirror knows blobs, repos and artifacts, the converter knows checkpoints and GGUF, and
/// this joins them for the CLI (`lineage mirror sync`) and the daemon's quantize jobs alike.
public struct QuantizeIngest: Sendable {
    public let mirror: MirrorService
    public let lineage: LineageStore?
    /// Quantization threads (default: every core).
    public var threads: Int

    public init(mirror: MirrorService, lineage: LineageStore?, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.mirror = mirror
        self.lineage = lineage
        self.threads = max(1, threads)
    }

    public struct IngestError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Parses preset names (`mirror add --quantize`, the daemon's `quantize:`), naming the
    /// bad one and the allowed ones.
    public static func presets(_ names: [String]) throws -> [QuantizationPreset] {
        var presets: [QuantizationPreset] = []
        for name in names {
            guard let preset = QuantizationPreset(name: name) else {
                throw IngestError("unknown quantization '\(name)' (allowed: \(QuantizationPreset.names))")
            }
            if !presets.contains(preset) { presets.append(preset) }
        }
        return presets
    }

    /// The canonical names (`q4_k_m` -> `Q4_K_M`), for records and configurations.
    public static func presetNames(_ names: [String]) throws -> [String] {
        try presets(names).map(\.rawValue)
    }

    /// `org/name` -> `org/name-GGUF`, the Hub's convention for a repo of GGUF quantizations.
    public static func derivedRepoID(for id: String) -> String { "\(id)-GGUF" }

    /// `org/name`, Q4_K_M -> `name-Q4_K_M.gguf`.
    public static func fileName(for id: String, preset: QuantizationPreset) -> String {
        "\(id.split(separator: "/").last.map(String.init) ?? id)-\(preset.rawValue).gguf"
    }

    /// One preset's outcome.
    public struct Made: Sendable {
        public var preset: QuantizationPreset
        public var file: String
        public var digest: ModelMirror.SHA256Digest
        public var size: Int64
        /// True when an earlier run had made it from the same inputs: no work was done.
        public var reused: Bool
        public var seconds: Double
    }

    public struct Report: Sendable {
        public var repo: String
        public var commit: String?
        public var derivedRepo: String
        /// The `-GGUF` commit published (nil when nothing could be made).
        public var derivedCommit: String?
        public var made: [Made] = []
        public var failures: [(preset: String, message: String)] = []
        public var lineage: String?
        public var warnings: [String] = []
        /// The repo could not be quantized at all (unknown repo, no published commit, bad preset).
        public var error: String?

        public var succeeded: Bool { error == nil && failures.isEmpty }
    }

    /// Makes every preset `repo` asks for from `commit` (default: the revision it follows).
    /// What an earlier run made from the same inputs is reused, not made again.
    public func run(repo id: String, commit requested: String? = nil, presets explicit: [QuantizationPreset]? = nil,
                    progress: (@Sendable (String) -> Void)? = nil) async -> Report {
        var report = Report(repo: id, derivedRepo: Self.derivedRepoID(for: id))
        do {
            guard let repo = try await mirror.metadata.repo(id) else {
                throw IngestError("no tracked repo '\(id)'; `lineage mirror ls` lists them")
            }
            guard repo.source != .derived else {
                throw IngestError("\(id) is itself made here (from \(repo.derivedFrom ?? "another repo")); quantize its source")
            }
            let presets = try explicit ?? Self.presets(repo.quantize)
            guard !presets.isEmpty else { return report }
            guard let revision = try await mirror.metadata.resolve(repo, revision: requested) else {
                throw IngestError("\(id) has no published commit \(requested.map { "'\($0)'" } ?? "yet"); run `lineage mirror sync \(id)` first")
            }
            report.commit = revision.commit
            try await ingest(repo, commit: revision.commit, presets: presets, into: &report, progress: progress)
        } catch {
            report.error = "\(error)"
        }
        return report
    }

    private func ingest(_ repo: MirrorRepo, commit: String, presets: [QuantizationPreset], into report: inout Report,
                        progress: (@Sendable (String) -> Void)?) async throws {
        let inputs = try await mirror.metadata.files(of: repo.id, commit: commit).sorted { $0.path < $1.path }
        let directory = mirror.snapshotDirectory(repo.id, commit: commit)
        var published: [MirroredFile] = []
        try await mirror.holdingStore {
            for preset in presets {
                let file = Self.fileName(for: repo.id, preset: preset)
                let recipe = "quantize \(preset.rawValue)"
                let key = Self.key(inputs: inputs, recipe: recipe)
                if let made = try await reusable(key) {
                    report.made.append(Made(preset: preset, file: file, digest: made.output, size: made.size, reused: true, seconds: 0))
                    published.append(Self.publishedFile(file, digest: made.output, size: made.size))
                    progress?("\(repo.id)@\(commit.prefix(12)) \(preset): \(file) already made (sha256:\(made.output.hex))")
                    continue
                }
                progress?("\(repo.id)@\(commit.prefix(12)) \(preset): quantizing to \(report.derivedRepo)/\(file)")
                let started = Date()
                do {
                    let (committed, warnings) = try await quantize(directory: directory, preset: preset, key: key, label: "\(report.derivedRepo)/\(file)")
                    report.warnings += warnings.map { "\(preset): \($0)" }
                    try await mirror.metadata.recordBlob(committed.digest, size: committed.size, gitOID: nil)
                    try await mirror.metadata.recordArtifact(DerivedArtifact(
                        key: key, sourceRepo: repo.id, sourceCommit: commit, inputs: inputs.map(\.blob), recipe: recipe,
                        producer: ModelConverter.version, output: committed.digest, size: committed.size))
                    report.made.append(Made(preset: preset, file: file, digest: committed.digest, size: committed.size,
                                            reused: false, seconds: Date().timeIntervalSince(started)))
                    published.append(Self.publishedFile(file, digest: committed.digest, size: committed.size))
                } catch {
                    report.failures.append((preset.rawValue, "\(error)"))
                }
            }
        }
        guard !published.isEmpty else { return }
        published.sort { $0.path < $1.path }
        let derivedCommit = Self.derivedCommit(source: repo.id, commit: commit, files: published)
        report.derivedCommit = derivedCommit
        let existing = try await mirror.metadata.repo(report.derivedRepo)
        if let existing, existing.source != .derived {
            throw IngestError("\(report.derivedRepo) is already tracked as a \(existing.source.rawValue) repo; the quantizations of \(repo.id) cannot be published under that id")
        }
        let derived = MirrorRepo(id: report.derivedRepo, source: .derived, url: nil, upstreamID: report.derivedRepo,
                                 revision: nil, include: [], exclude: [], derivedFrom: repo.id,
                                 addedAt: existing?.addedAt ?? Date())
        // A second run over the same inputs publishes nothing new.
        let current = try await mirror.metadata.refs(of: report.derivedRepo)["main"]
        if current != derivedCommit || report.made.contains(where: { !$0.reused }) {
            try await mirror.publishDerived(derived, commit: derivedCommit, ref: "main", files: published)
        }
        recordLineage(source: repo, commit: commit, presets: report.made.map(\.preset), into: &report)
    }

    /// The artifact made with `key`, if its blob is still stored and healthy.
    private func reusable(_ key: ModelMirror.SHA256Digest) async throws -> DerivedArtifact? {
        guard let artifact = try await mirror.metadata.artifact(key: key), mirror.blobs.has(artifact.output),
              let blob = try await mirror.metadata.blob(artifact.output), blob.state == .ok else { return nil }
        return artifact
    }

    /// Plans and writes one GGUF into a staged store write on a thread of its own (the
    /// quantizer blocks its caller and runs its own workers; the cooperative pool must stay
    /// free for the daemon's lease renewals and requests). A failure deletes the staged bytes.
    private func quantize(directory: URL, preset: QuantizationPreset, key: ModelMirror.SHA256Digest, label: String) async throws
        -> (CommittedBlob, [String]) {
        let blobs = mirror.blobs
        let threads = threads
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    let lineage = try QuantizationProvenance.metadata(directory: directory)
                    var options = ConversionOptions(preset: preset, lineage: lineage)
                    options.threads = threads
                    let plan = try ModelConverter.plan(directory: directory, options: options)
                    let transfer = try blobs.stage(.produced(key))
                    // Bytes left by a run that died mid-way cannot be continued: start over.
                    if transfer.offset > 0 { try transfer.restart() }
                    do {
                        _ = try plan.write(into: StagedGGUFSink(transfer), name: label, options: options)
                    } catch {
                        transfer.discard()
                        throw error
                    }
                    let committed = try blobs.commitProduced(transfer) { url in
                        // The finished file must read back as the GGUF that was planned.
                        let metadata = try GGUFReader.readMetadata(contentsOf: url)
                        guard metadata.tensors.count == plan.tensors.count else {
                            throw IngestError("\(label): wrote \(metadata.tensors.count) tensors, planned \(plan.tensors.count)")
                        }
                    }
                    return (committed, plan.warnings)
                })
            }
        }
    }

    /// Digest of what a quantization depends on: the converter version, the recipe, and every
    /// file of the commit by path and stored blob (config, tokenizer, card and weights all
    /// reach the GGUF).
    static func key(inputs: [MirroredFile], recipe: String) -> ModelMirror.SHA256Digest {
        var hash = SHA256()
        hash.update(data: Array("lineage derived artifact\n\(ModelConverter.version)\n\(recipe)\n".utf8))
        for file in inputs { hash.update(data: Array("\(file.path)\t\(file.blob.hex)\n".utf8)) }
        return ModelMirror.SHA256Digest(hash.finalize())
    }

    /// A GGUF published as an LFS file, as the Hub lists them: its etag is the sha256 and its
    /// git blob id is that of the LFS pointer a git clone of the repo would hold.
    static func publishedFile(_ path: String, digest: ModelMirror.SHA256Digest, size: Int64) -> MirroredFile {
        let pointer = Array(LFSPointer(oid: digest, size: size).text.utf8)
        var sha1 = Insecure.SHA1()
        sha1.update(data: Array("blob \(pointer.count)\u{0}".utf8))
        sha1.update(data: pointer)
        return MirroredFile(path: path, size: size, gitOID: GitObjectID(sha1.finalize()).hex, lfsOID: digest, blob: digest)
    }

    /// A stable 40-hex commit id for the `-GGUF` repo's content: the same source commit and
    /// outputs give the same id, so Hub clients see an unchanged revision.
    static func derivedCommit(source: String, commit: String, files: [MirroredFile]) -> String {
        var sha1 = Insecure.SHA1()
        sha1.update(data: Array("lineage derived commit\n\(source)@\(commit)\n".utf8))
        for file in files { sha1.update(data: Array("\(file.path)\t\(file.blob.hex)\n".utf8)) }
        return GitObjectID(sha1.finalize()).hex
    }

    /// The `-GGUF` repo as a node of kind quantized, with a declared `quantized` edge from the
    /// source model (the GGUFs' general.source.repo_url says so too). A lineage problem is a
    /// warning: the stored bytes are fine either way.
    private func recordLineage(source: MirrorRepo, commit: String, presets: [QuantizationPreset], into report: inout Report) {
        guard let lineage, !presets.isEmpty else { return }
        let names = presets.map(\.rawValue).joined(separator: ", ")
        let node = LineageNode(id: report.derivedRepo, name: report.derivedRepo, kind: .quantized, architecture: "llama",
                               hubIDs: [report.derivedRepo], facts: ["quantizations": names])
        let edge = LineageEdge(parent: source.id, child: report.derivedRepo, relation: .quantized, provenance: .declared,
                               evidence: "quantized on ingest from \(source.id)@\(commit.prefix(12)) (\(names)) by \(ModelConverter.version)")
        let batch = ImportBatch(nodes: [node], edges: [edge],
                                referencedNodes: [LineageNode(id: source.id, hubIDs: [source.id])])
        do {
            let summary = try lineage.apply(batch, origin: "quantize:\(source.id)@\(commit)")
            report.lineage = "\(summary.edges) edge\(summary.edges == 1 ? "" : "s")"
        } catch {
            report.warnings.append("lineage of \(report.derivedRepo) not recorded: \(error)")
        }
    }
}
