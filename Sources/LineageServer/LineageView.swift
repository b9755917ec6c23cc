import Foundation
import LineageGraph
import ModelMirror

/// The lineage graph as the server shows it: loaded from the store, reloaded when the store
/// file changes (the CLI may import into it while the daemon runs), with rendered SVG cached
/// per graph version because `dot` takes a moment on the whole catalog.
public actor LineageView {
    public typealias Loader = @Sendable () throws -> LineageGraph

    private let load: Loader
    private let storeFiles: [URL]
    private var current: (stamp: [String], graph: LineageGraph)?
    private var svgCache: [String: [UInt8]] = [:]

    /// `storeDirectory` holds `lineage.sqlite`; its file stamps tell when to reload.
    public init(storeDirectory: URL, load: @escaping Loader) {
        self.load = load
        storeFiles = ["lineage.sqlite", "lineage.sqlite-wal"].map { storeDirectory.appendingPathComponent($0) }
    }

    public func graph() throws -> LineageGraph {
        let stamp = storeFiles.map { url -> String in
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            return "\(modified):\(size)"
        }
        if let current, current.stamp == stamp { return current.graph }
        let graph = try load()
        current = (stamp, graph)
        svgCache.removeAll()
        return graph
    }

    /// The whole graph, or one model with its ancestors and descendants.
    public func selection(model reference: String?) throws -> LineageGraph {
        let graph = try graph()
        guard let reference, !reference.isEmpty else { return graph }
        guard let node = graph.lookup(reference) else {
            let lowered = reference.lowercased()
            let close = graph.nodes.filter { $0.id.lowercased().contains(lowered) || $0.name.lowercased().contains(lowered) }
                .prefix(8).map(\.id)
            var message = "no model or dataset '\(reference)' in the lineage graph"
            if !close.isEmpty { message += "; did you mean: \(close.joined(separator: ", "))?" }
            throw HubError(status: .notFound, code: nil, message: message)
        }
        let related = Set(graph.ancestors(of: node)).union(graph.descendants(of: node)).union([node])
        return graph.subgraph(related)
    }

    /// Graphviz SVG of a selection, rendered off the cooperative thread pool (it runs a
    /// process and waits for it).
    public func svg(model: String?) async throws -> [UInt8] {
        let key = model ?? ""
        let graph = try selection(model: model)
        if let cached = svgCache[key] { return cached }
        let dot = DOTExporter(edgeLabels: graph.edges.count <= 400).export(graph)
        let svg = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Graphviz.render(dot, format: "svg") })
            }
        }
        svgCache[key] = svg
        return svg
    }
}

/// What the mirror holds of a model: the repos that carry one of its Hub ids, each with its
/// published revisions and when their bytes were last verified.
struct MirrorState: Sendable {
    struct Revision: Sendable {
        var commit: String
        var refs: [String]
        var syncedAt: Date
        var files: Int
        var bytes: Int64
        /// The oldest verification among the revision's blobs: every byte was checked at or after it.
        var verifiedAt: Date?
    }

    /// A quantization made of the repo on ingest, and where it is published.
    struct Quantization: Sendable {
        var preset: String
        var sourceCommit: String
        var sha256: String
        var size: Int64
        /// `org/name-GGUF` and the file there, while its current revision lists it.
        var repo: String?
        var file: String?
    }

    struct Repo: Sendable {
        var id: String
        var source: String
        var revisions: [Revision]
        var quantizations: [Quantization] = []
    }

    /// Lower-cased Hub id -> mirrored repo.
    var repos: [String: Repo] = [:]

    static func read(from metadata: any MirrorMetadataStore) async throws -> MirrorState {
        var state = MirrorState()
        let blobs = Dictionary(try await metadata.blobs().map { ($0.digest, $0) }, uniquingKeysWith: { a, _ in a })
        let all = try await metadata.repos()
        for repo in all {
            let refs = try await metadata.refs(of: repo.id)
            var revisions: [Revision] = []
            for revision in try await metadata.revisions(of: repo.id) {
                let files = try await metadata.files(of: repo.id, commit: revision.commit)
                let verified = files.compactMap { blobs[$0.blob]?.verifiedAt }
                revisions.append(Revision(
                    commit: revision.commit, refs: refs.filter { $0.value == revision.commit }.map(\.key).sorted(),
                    syncedAt: revision.syncedAt, files: revision.fileCount, bytes: revision.totalBytes,
                    verifiedAt: verified.count == files.count ? verified.min() : nil))
            }
            var entry = Repo(id: repo.id, source: repo.source.rawValue, revisions: revisions)
            let artifacts = try await metadata.artifacts(from: repo.id)
            if !artifacts.isEmpty {
                var published: [SHA256Digest: (repo: String, file: String)] = [:]
                for derived in all where derived.derivedFrom == repo.id {
                    guard let commit = try await metadata.refs(of: derived.id)["main"] else { continue }
                    for file in try await metadata.files(of: derived.id, commit: commit) { published[file.blob] = (derived.id, file.path) }
                }
                entry.quantizations = artifacts.map { artifact in
                    Quantization(preset: artifact.recipe.hasPrefix("quantize ") ? String(artifact.recipe.dropFirst(9)) : artifact.recipe,
                                 sourceCommit: artifact.sourceCommit, sha256: artifact.output.hex, size: artifact.size,
                                 repo: published[artifact.output]?.repo, file: published[artifact.output]?.file)
                }
            }
            state.repos[repo.id.lowercased()] = entry
            state.repos[repo.upstreamID.lowercased()] = entry
        }
        return state
    }

    func repos(for node: LineageNode) -> [Repo] {
        var seen = Set<String>()
        return ([node.id] + node.hubIDs).compactMap { repos[$0.lowercased()] }.filter { seen.insert($0.id).inserted }
    }
}
