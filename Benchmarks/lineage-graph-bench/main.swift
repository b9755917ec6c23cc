import Foundation
import LineageGraph
import LineageStore

// The lineage graph benchmark (see scripts/bench-graph.sh, which runs it side by side with
// networkx on the same data and prints the ratios).
//
//   lineage-graph-bench generate N FILE    write a Hub-like lineage of N models as TSV
//   lineage-graph-bench run FILE REPEAT    time import, load, descendants, JSON and DOT export
//   lineage-graph-bench import FILE STORE  only the import (to profile it)
//   lineage-graph-bench build FILE         only the in-memory build (to profile it)
//   lineage-graph-bench export FILE [STORE] only the DOT and JSON exports (to profile them)
//
// TSV columns: id, license, kind, relation, parents (comma-separated). Parents come before
// their children, as they would in a crawl ordered by creation date.

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: lineage-graph-bench generate N FILE | run FILE REPEAT | import FILE STORE | build FILE | export FILE [STORE]\n".utf8))
    exit(2)
}

/// SplitMix64: deterministic across runs and platforms, so every run sees the same graph.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// A lineage shaped like the Hub's (Model Atlas): few foundation models, children picked by
/// preferential attachment (popular bases collect most fine-tunes), quantizations and
/// adapters as leaves, a few merges with two parents.
func generate(count: Int, to path: String) throws {
    var random = SplitMix64(state: 20_231_129)
    let licenses = ["apache-2.0", "llama2", "mit", "cc-by-nc-4.0", "bigscience-openrail-m", "other"]
    // Each model appears here once, plus once per child: picking uniformly from it is
    // picking a parent in proportion to its popularity.
    var attachment: [Int32] = []
    attachment.reserveCapacity(count * 2)
    var out = OutputBuffer(capacity: count * 64)
    // The first foundation model starts as popular as fifty others: on the Hub one family
    // (Llama's) carries most of the derivatives.
    attachment.append(contentsOf: repeatElement(0, count: 50))
    func id(_ index: Int) -> String { "org\(index % 5000)/model-\(index)" }
    for index in 0..<count {
        let roll = random.unit()
        var kind = "pretrained", relation = "", parents: [Int] = []
        if index < 8 || roll < 0.01 {
            // a new foundation model
        } else {
            let parent = Int(attachment[random.below(attachment.count)])
            parents = [parent]
            switch random.unit() {
            case ..<0.25: kind = "quantized"; relation = "quantized"
            case ..<0.35: kind = "adapter"; relation = "adapter"
            case ..<0.37:
                kind = "merge"; relation = "merge"
                let other = Int(attachment[random.below(attachment.count)])
                if other != parent { parents.append(other) }
            default: kind = "finetuned"; relation = "finetune"
            }
        }
        out.write(id(index)); out.write(9)
        out.write(licenses[random.below(licenses.count)]); out.write(9)
        out.write(kind); out.write(9)
        out.write(relation); out.write(9)
        out.write(parents.map(id).joined(separator: ",")); out.write(10)
        for parent in parents { attachment.append(Int32(parent)) }
        // Quantizations and adapters are leaves: nobody builds on them.
        if kind != "quantized" && kind != "adapter" { attachment.append(Int32(index)) }
    }
    try Data(out.bytes).write(to: URL(fileURLWithPath: path))
}

/// Parses the TSV into an import batch (what `lineage import` hands the store): fields are
/// cut from the bytes directly, and the few distinct licenses, kinds and relations are
/// shared rather than allocated per row.
func parse(_ path: String) throws -> ImportBatch {
    let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    var batch = ImportBatch()
    batch.nodes.reserveCapacity(data.count / 60)
    batch.edges.reserveCapacity(data.count / 60)
    // One short list per column: a field is compared with at most a handful of candidates,
    // and a kind or relation is parsed once per distinct spelling, not once per row.
    var licenses: [(String, String)] = [], kinds: [(String, NodeKind?)] = [], relations: [(String, Relation?)] = []
    func intern<Value>(_ field: UnsafeBufferPointer<UInt8>, in interned: inout [(String, Value)], _ parse: (String) -> Value) -> Value {
        for (known, value) in interned {
            var known = known
            if known.withUTF8({ $0.count == field.count && memcmp($0.baseAddress!, field.baseAddress!, field.count) == 0 }) { return value }
        }
        let text = String(decoding: field, as: UTF8.self)
        interned.append((text, parse(text)))
        return interned[interned.count - 1].1
    }
    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        let bytes = raw.bindMemory(to: UInt8.self)
        var position = 0
        func field(_ terminator: UInt8) -> UnsafeBufferPointer<UInt8> {
            let start = position
            while bytes[position] != terminator { position += 1 }
            defer { position += 1 }
            return UnsafeBufferPointer(rebasing: bytes[start..<position])
        }
        while position < bytes.count {
            let id = String(decoding: field(9), as: UTF8.self)
            let license = intern(field(9), in: &licenses) { $0 }
            let kind = intern(field(9), in: &kinds, NodeKind.init(rawValue:)) ?? .finetuned
            let relation = intern(field(9), in: &relations, Relation.init(rawValue:))
            let parents = field(10)
            batch.nodes.append(LineageNode(id: id, kind: kind, license: license))
            guard let relation else { continue }
            var start = parents.startIndex
            for end in parents.indices where parents[end] == UInt8(ascii: ",") || end == parents.endIndex - 1 {
                let stop = parents[end] == UInt8(ascii: ",") ? end : end + 1
                batch.edges.append(LineageEdge(parent: String(decoding: UnsafeBufferPointer(rebasing: parents[start..<stop]), as: UTF8.self),
                                               child: id, relation: relation, provenance: .declared))
                start = end + 1
            }
        }
    }
    return batch
}

/// CPU seconds of this process: on a shared machine, wall time also counts other work.
func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

nonisolated(unsafe) var cpuResults: [String: [Double]] = [:]

/// Wall seconds of `body`; its CPU seconds go to `cpuResults[name]`.
func seconds(_ name: String, _ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let cpuStart = cpuSeconds()
    try body()
    cpuResults[name, default: []].append(cpuSeconds() - cpuStart)
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1024 / 1024  // bytes on Darwin
    #endif
}

func run(path: String, repeats: Int) throws {
    let largestRoot = "org0/model-0"
    var results: [String: [Double]] = [:]
    var facts: [String: Int] = [:]
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lineage-graph-bench-\(getpid())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    for round in 0..<repeats {
        let storeDirectory = scratch.appendingPathComponent("store-\(round)")
        var batch = ImportBatch()
        var memoryGraph: LineageGraph?
        results["build in memory (parse + DAG)", default: []].append(try seconds("build in memory (parse + DAG)") {
            batch = try parse(path)
            memoryGraph = try LineageGraph(nodes: batch.nodes, edges: batch.edges)
        })
        // Freed after the timing, not inside it (networkx's graph is freed after its timing too).
        withExtendedLifetime(memoryGraph) {}
        (batch, memoryGraph) = (ImportBatch(), nil)
        results["import (parse + SQLite, one transaction)", default: []].append(try seconds("import (parse + SQLite, one transaction)") {
            let parsed = try parse(path)
            let store = try LineageStore(directory: storeDirectory)
            try store.apply(parsed, origin: "bench")
        })
        var graph: LineageGraph!
        results["load the graph from SQLite", default: []].append(try seconds("load the graph from SQLite") {
            graph = try LineageStore(directory: storeDirectory).loadGraph()
        })
        facts["nodes"] = graph.nodes.count
        facts["edges"] = graph.edges.count
        let root = graph.index[largestRoot]!
        var reached = 0
        results["descendants of the largest root", default: []].append(seconds("descendants of the largest root") {
            reached = graph.descendants(of: root).count
        })
        facts["descendants"] = reached
        let json = scratch.appendingPathComponent("graph.json")
        results["export node-link JSON to a file", default: []].append(try seconds("export node-link JSON to a file") {
            try ExportFormat.json.write(graph, toFileAt: json.path)
        })
        // LINEAGE_BENCH_DOT keeps the DOT (bench-graph.sh compares it with the Python writer's).
        let dot = ProcessInfo.processInfo.environment["LINEAGE_BENCH_DOT"].map(URL.init(fileURLWithPath:))
            ?? scratch.appendingPathComponent("graph.dot")
        results["export DOT to a file", default: []].append(try seconds("export DOT to a file") {
            try ExportFormat.dot.write(graph, toFileAt: dot.path)
        })
        try? FileManager.default.removeItem(at: storeDirectory)
    }
    let report: [String: Any] = ["seconds": results, "cpu_seconds": cpuResults, "facts": facts, "peak_rss_mb": peakRSSMegabytes()]
    let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Only the import, for profiling it: `lineage-graph-bench import FILE STORE-DIR`.
func importOnly(path: String, store: String) throws {
    var storeSeconds = 0.0
    let wall = try seconds("import") {
        let parsed = try parse(path)
        let start = cpuSeconds()
        try LineageStore(directory: URL(fileURLWithPath: store)).apply(parsed, origin: "bench")
        storeSeconds = cpuSeconds() - start
    }
    print("import: wall \(wall) s, CPU \(cpuResults["import"]![0]) s (store part \(storeSeconds) s CPU)")
}

/// Only the in-memory build, for profiling it: `lineage-graph-bench build FILE`.
func buildOnly(path: String) throws {
    var batch = ImportBatch()
    var graph: LineageGraph?
    let wall = try seconds("build") {
        batch = try parse(path)
        graph = try LineageGraph(nodes: batch.nodes, edges: batch.edges)
    }
    withExtendedLifetime((batch, graph)) {}
    print("build: wall \(wall) s, CPU \(cpuResults["build"]![0]) s")
}

/// Only the exports, for profiling them: `lineage-graph-bench export FILE [STORE]`, of the
/// graph built from FILE or, with STORE, of the graph loaded from STORE (importing FILE
/// into it first when it is empty).
func exportOnly(path: String, store: String?) throws {
    let graph: LineageGraph
    if let store {
        let lineageStore = try LineageStore(directory: URL(fileURLWithPath: store))
        if try lineageStore.counts().nodes == 0 { try lineageStore.apply(parse(path), origin: "bench") }
        graph = try lineageStore.loadGraph()
    } else {
        let batch = try parse(path)
        graph = try LineageGraph(nodes: batch.nodes, edges: batch.edges)
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lineage-graph-bench-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    for format in [ExportFormat.dot, .json] {
        let target = ProcessInfo.processInfo.environment["LINEAGE_BENCH_KEEP"].map { "\($0).\(format)" } ?? scratch.appendingPathComponent("graph").path
        let wall = try seconds("\(format)") { try format.write(graph, toFileAt: target) }
        print("\(format): wall \(wall) s, CPU \(cpuResults["\(format)"]![0]) s")
    }
}

switch arguments[1] {
case "build": try buildOnly(path: arguments[2])
case "export": try exportOnly(path: arguments[2], store: arguments.count > 3 ? arguments[3] : nil)
case "generate": try generate(count: Int(arguments[2])!, to: arguments[3])
case "import": try importOnly(path: arguments[2], store: arguments[3])
case "run": try run(path: arguments[2], repeats: Int(arguments[3])!)
default:
    FileHandle.standardError.write(Data("unknown mode \(arguments[1])\n".utf8))
    exit(2)
}
