#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The formats `lineage export` writes.
public enum ExportFormat: String, CaseIterable, Sendable {
    case dot
    case json
    case treeJSON = "tree-json"
    case graphml
    case mermaid

    public func export(_ graph: LineageGraph) -> [UInt8] {
        var out = OutputBuffer(capacity: graph.nodes.count * 160 + graph.edges.count * 120 + 1024)
        write(graph, into: &out)
        return out.bytes
    }

    public struct FileError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// Streams the export into a file, atomically: it is written beside the target under a
    /// temporary name and renamed over it only when complete, so a failed export never
    /// leaves half a file behind. "-" is standard output.
    public func write(_ graph: LineageGraph, toFileAt path: String) throws {
        if path == "-" {
            var out = OutputBuffer(flushingTo: 1)
            write(graph, into: &out)
            try out.finish()
            return
        }
        let temporary = path + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        var out = OutputBuffer(flushingTo: descriptor)
        write(graph, into: &out)
        do {
            try out.finish()
        } catch {
            close(descriptor)
            unlink(temporary)
            throw FileError(path: path, reason: "\(error)")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileError(path: path, reason: reason)
        }
    }

    /// Writes into `out`, which may stream to a file (OutputBuffer(flushingTo:)).
    public func write(_ graph: LineageGraph, into out: inout OutputBuffer) {
        switch self {
        case .dot: DOTExporter().write(graph, into: &out)
        case .json: NodeLinkJSONExporter().write(graph, into: &out)
        case .treeJSON: TreeJSONExporter().write(graph, into: &out)
        case .graphml: GraphMLExporter().write(graph, into: &out)
        case .mermaid: MermaidExporter().write(graph, into: &out)
        }
    }
}

/// Drawing choices shared by the DOT and Mermaid exporters.
enum Drawing {
    static func dotShape(_ kind: NodeKind) -> String {
        switch kind {
        case .pretrained: "box"
        case .finetuned: "ellipse"
        case .adapter: "component"
        case .merge: "hexagon"
        case .quantized: "cds"
        case .weightDelta: "parallelogram"
        case .dataset: "cylinder"
        }
    }

    static func dotFill(_ kind: NodeKind) -> String {
        switch kind {
        case .pretrained: "#dbe9f6"
        case .finetuned: "#ffffff"
        case .adapter: "#fdf2d0"
        case .merge: "#e8dff5"
        case .quantized: "#e3f4e1"
        case .weightDelta: "#fbe3e3"
        case .dataset: "#eeeeee"
        }
    }

    /// Edge colour says the relation.
    static func dotColor(_ relation: Relation) -> String {
        switch relation {
        case .finetune: "#333333"
        case .instruct: "#1f77b4"
        case .chat: "#2ca02c"
        case .continuedPretrain: "#9467bd"
        case .adapter: "#bcbd22"
        case .merge: "#8c564b"
        case .quantized: "#17becf"
        case .distill: "#e377c2"
        case .weightDelta: "#d62728"
        case .reproduction: "#ff7f0e"
        case .architecture: "#7f7f7f"
        case .successor: "#000000"
        case .trainedOn: "#aaaaaa"
        }
    }

    /// Edge line style says the provenance: solid for curated facts, dashed for what a
    /// model's files declare, bold for what the weights show, dotted for inferences.
    static func dotStyle(_ provenance: Provenance) -> String {
        switch provenance {
        case .curated: "solid"
        case .declared: "dashed"
        case .weights: "bold"
        case .inferred: "dotted"
        }
    }
}
