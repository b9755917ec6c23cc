import Foundation
import GRDB
import LineageGraph

/// The lineage database: `<store>/lineage.sqlite` (WAL), shared by the CLI and the daemon.
/// Every import is one transaction: it lands whole or leaves nothing behind.
public final class LineageStore: Sendable {
    public let directory: URL
    private let pool: DatabasePool
    /// Imports of at least this many nodes and edges take the bulk path (see `write`).
    private let bulkThreshold: Int

    public static let databaseName = "lineage.sqlite"

    public enum StoreError: Error, CustomStringConvertible {
        case cycle([String], origin: String)
        case cannotOpen(path: String, reason: String)

        public var description: String {
            switch self {
            case .cycle(let cycle, let origin):
                "refused \(origin): it would make a cycle \(cycle.joined(separator: " -> ")); lineage must be a DAG, nothing was changed"
            case .cannotOpen(let path, let reason):
                "cannot open the store at \(path): \(reason). Pass --store DIR or set LINEAGE_STORE to a writable directory"
            }
        }
    }

    /// Opens (creating when needed) the store in `directory` and brings its schema up to date.
    public init(directory: URL, bulkThreshold: Int = 100_000) throws {
        self.directory = directory
        self.bulkThreshold = bulkThreshold
        let path = directory.appendingPathComponent(Self.databaseName).path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            // The CLI and the daemon share the file: wait for each other's write locks.
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // Takes effect only when the file is created. Larger pages make shallower
                // B-trees over the text keys: a million-model import writes a third faster.
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.message ?? "\(error)")
        } catch let error as CocoaError {
            throw StoreError.cannotOpen(path: path, reason: error.localizedDescription)
        }
    }

    // MARK: Catalog

    /// The digest of the catalog last loaded, or nil when none was.
    public func catalogDigest() throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT digest FROM catalog_state WHERE id = 1") }
    }

    /// Replaces everything the catalog said before with `batch`, in one transaction; models
    /// and edges from imports stay. An imported node that the catalog now names by one of
    /// its Hub ids is folded into the catalog node.
    public func replaceCatalog(with batch: ImportBatch, digest: String, fileCount: Int) throws {
        _ = try write(origin: "catalog") { db in
            let kept = Set(batch.nodes.map(\.id))
            try db.execute(sql: "DELETE FROM edge WHERE origin = 'catalog'")
            let previous = try String.fetchAll(db, sql: "SELECT id FROM node WHERE origin = 'catalog'")
            for id in previous where !kept.contains(id) {
                try db.execute(sql: "DELETE FROM node WHERE id = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM family WHERE origin = 'catalog'")
            try db.execute(sql: "DELETE FROM node_alias WHERE node IN (SELECT key FROM node WHERE origin = 'catalog')")
            try Self.insertFamilies(batch.families, origin: "catalog", db)
            for node in batch.nodes { try Self.foldImportedDuplicates(of: node, db) }
            var writer = try GraphWriter(db)
            try writer.upsert(nodes: batch.nodes, origin: "catalog")
            try writer.upsert(edges: batch.edges, origin: "catalog")
            try writer.finish()
            try db.execute(sql: """
                INSERT INTO catalog_state (id, digest, file_count, loaded_at) VALUES (1, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET digest = excluded.digest, file_count = excluded.file_count,
                    loaded_at = excluded.loaded_at
                """, arguments: [digest, fileCount, Self.now()])
            return (ImportSummary(nodes: batch.nodes.count, edges: batch.edges.count, warnings: batch.warnings), .wholeGraph)
        }
    }

    // MARK: Imports

    public struct ImportSummary: Sendable, Equatable {
        public var nodes: Int
        public var edges: Int
        public var warnings: [String]
    }

    /// Applies an import. References (`meta-llama/Llama-2-7b-hf`) resolve to the node that
    /// carries that Hub id, so a card's `base_model` lands on the catalog's `llama-2-7b`.
    /// Catalog facts are never overwritten by an import; a curated edge is never weakened.
    @discardableResult
    public func apply(_ batch: ImportBatch, origin: String) throws -> ImportSummary {
        let bulk = batch.nodes.count + batch.edges.count >= bulkThreshold
        return try write(origin: origin, bulk: bulk) { db in
            let hadEdges = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM edge)") ?? true
            let aliases = try Self.aliasMap(db)
            func resolve(_ id: String) -> String { aliases.isEmpty ? id : aliases[id.lowercased()] ?? id }
            try Self.insertFamilies(batch.families, origin: origin, db)
            let catalogNodes = try Set(String.fetchAll(db, sql: "SELECT id FROM node WHERE origin = 'catalog'"))
            // Without aliases or catalog nodes to map or skip, the batch is used as it is:
            // copying a million nodes and edges costs a second.
            let nodes = aliases.isEmpty && catalogNodes.isEmpty ? batch.nodes : batch.nodes.compactMap { node -> LineageNode? in
                var node = node
                node.id = resolve(node.id)
                return catalogNodes.contains(node.id) ? nil : node
            }
            let referenced = aliases.isEmpty ? batch.referencedNodes : batch.referencedNodes.map { node -> LineageNode in
                var node = node
                node.id = resolve(node.id)
                return node
            }
            let edges = aliases.isEmpty ? batch.edges : batch.edges.map { edge -> LineageEdge in
                var edge = edge
                edge.parent = resolve(edge.parent)
                edge.child = resolve(edge.child)
                return edge
            }
            var writer = try GraphWriter(db, bulk: bulk, expectedNodes: nodes.count + referenced.count)
            let nodeKeys = try writer.assignKeys(nodes)
            let referenceKeys = try writer.assignKeys(referenced)
            // Into a graph without edges, only the batch's own edges can close a cycle:
            // check those, as integer keys, instead of reading the table back.
            let checkBatchForCycles = !hadEdges
            let keyLimit = writer.keyLimit
            // A bulk writer knows every key now, so the second core resolves, sorts and
            // checks the edges while SQLite takes the nodes.
            let edgeWork = bulk ? BackgroundWork { [keys = writer.knownKeys] in
                Result { () throws -> (GraphWriter.ResolvedEdges, [Int64]?) in
                    let resolved = try GraphWriter.resolve(edges) { keys[$0] }
                    return (resolved, checkBatchForCycles ? GraphWriter.cycle(among: resolved.endpoints, keyLimit: keyLimit) : nil)
                }
            } : nil
            try writer.write(nodes: nodes, keys: nodeKeys, origin: origin)
            try writer.writeReferences(referenced, keys: referenceKeys)
            let resolved: GraphWriter.ResolvedEdges, cycle: [Int64]?
            if let edgeWork {
                (resolved, cycle) = try edgeWork.wait().get()
                try writer.write(edges: edges, resolved: resolved, origin: origin, intoEmptyTable: !hadEdges)
            } else {
                resolved = try writer.upsert(edges: edges, origin: origin)
                cycle = checkBatchForCycles ? GraphWriter.cycle(among: resolved.endpoints, keyLimit: keyLimit) : nil
            }
            let batchCycle = try cycle.map { try Self.ids(ofKeys: $0, db) }
            try writer.finish()
            let summary = ImportSummary(nodes: batch.nodes.count, edges: edges.count, warnings: batch.warnings)
            return (summary, hadEdges ? .wholeGraph : .checked(batchCycle))
        }
    }

    /// Which edges a write must check for cycles.
    private enum CycleScope {
        case wholeGraph
        /// Already checked: the cycle found, or nil.
        case checked([String]?)
    }

    /// Runs `body` in one write transaction, refuses the result if the graph now has a
    /// cycle (rolling everything back), and logs the import.
    ///
    /// A bulk write (a large import) turns SQLite's per-row foreign-key probes off for its
    /// transaction: on a million rows they cost more than the inserts. The writer resolves
    /// every edge endpoint to a stored key itself (GraphWriter), and the vocabularies come
    /// from Swift enums, so what the probes would catch cannot reach the table.
    private func write(
        origin: String, bulk: Bool = false, _ body: @escaping @Sendable (Database) throws -> (ImportSummary, CycleScope)
    ) throws -> ImportSummary {
        try pool.writeWithoutTransaction { db in
            // The pragma is a no-op inside a transaction, so it brackets it.
            if bulk { try db.execute(sql: "PRAGMA foreign_keys = OFF") }
            defer { if bulk { try? db.execute(sql: "PRAGMA foreign_keys = ON") } }
            // Room for a large import's pages: SQLite's default cache is 2 MB.
            try db.execute(sql: "PRAGMA cache_size = -262144")
            defer { try? db.execute(sql: "PRAGMA cache_size = -2000") }
            var result: ImportSummary?
            try db.inTransaction(.immediate) {
                let (summary, scope) = try body(db)
                let cycle: [String]?
                switch scope {
                case .wholeGraph: cycle = summary.edges > 0 ? try Self.cycle(db) : nil
                case .checked(let found): cycle = found
                }
                if let cycle { throw StoreError.cycle(cycle, origin: origin) }  // rolls back
                try db.execute(sql: "INSERT INTO import_log (origin, imported_at, nodes, edges, warnings) VALUES (?, ?, ?, ?, ?)",
                               arguments: [origin, Self.now(), summary.nodes, summary.edges, summary.warnings.joined(separator: "\n")])
                result = summary
                return .commit
            }
            return result!
        }
    }

    private static func cycle(_ db: Database) throws -> [String]? {
        var edges: [(parent: Int64, child: Int64)] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT parent, child FROM edge")
        while let row = try rows.next() { edges.append((row[0], row[1])) }
        return try LineageGraph.findCycle(edges: edges).map { try ids(ofKeys: $0, db) }
    }

    private static func ids(ofKeys keys: [Int64], _ db: Database) throws -> [String] {
        try keys.map { key in try String.fetchOne(db, sql: "SELECT id FROM node WHERE key = ?", arguments: [key]) ?? "#\(key)" }
    }

    private static func aliasMap(_ db: Database) throws -> [String: String] {
        var map: [String: String] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT alias.alias, node.id FROM node_alias AS alias JOIN node ON node.key = alias.node")
        while let row = try rows.next() { map[row[0]] = row[1] }
        return map
    }

    private static func insertFamilies(_ families: [Family], origin: String, _ db: Database) throws {
        for family in families {
            try db.execute(sql: """
                INSERT INTO family (id, name, organization, description, links, origin) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET name = excluded.name, organization = excluded.organization,
                    description = excluded.description, links = excluded.links, origin = excluded.origin
                """, arguments: [family.id, family.name, family.organization, family.description,
                                 JSONColumn.encode(family.links), origin])
        }
    }

    /// A node imported as `org/name` before the catalog knew that repo: move its edges to the
    /// catalog node and drop it.
    private static func foldImportedDuplicates(of node: LineageNode, _ db: Database) throws {
        for hubID in node.hubIDs where hubID != node.id {
            guard let duplicate = try Int64.fetchOne(db, sql: "SELECT key FROM node WHERE id = ? COLLATE NOCASE AND origin <> 'catalog'", arguments: [hubID])
            else { continue }
            try db.execute(sql: "INSERT INTO node (id, name, kind, origin) VALUES (?, ?, ?, 'catalog') ON CONFLICT(id) DO NOTHING",
                           arguments: [node.id, node.name, node.kind.rawValue])
            let key = try Int64.fetchOne(db, sql: "SELECT key FROM node WHERE id = ?", arguments: [node.id])
            // Where the catalog node already has the same edge, the duplicate's copy is left
            // behind and goes with it.
            try db.execute(sql: "UPDATE OR IGNORE edge SET parent = ? WHERE parent = ?", arguments: [key, duplicate])
            try db.execute(sql: "UPDATE OR IGNORE edge SET child = ? WHERE child = ?", arguments: [key, duplicate])
            try db.execute(sql: "DELETE FROM node WHERE key = ?", arguments: [duplicate])
        }
    }

    // MARK: Reading

    /// The whole graph: nodes in id order, edges in (parent id, child id) order.
    public func loadGraph() throws -> LineageGraph {
        try pool.read { db in
            let maxKey = try Int.fetchOne(db, sql: "SELECT coalesce(max(key), 0) FROM node") ?? 0
            // Node key -> position in id order. The id index alone answers this (a covering
            // scan), so the table itself is then read in its own order, sequentially, rather
            // than looked up at random a million times.
            var position = [Int32](repeating: -1, count: maxKey + 1)
            var count: Int32 = 0
            try BulkStatement(db, sql: "SELECT key FROM node ORDER BY id").forEachRow { row in
                position[Int(row.integer(0)!)] = count
                count += 1
            }
            var hubIDs: [Int64: [String]] = [:]
            try BulkStatement(db, sql: "SELECT node, hub_id FROM node_alias ORDER BY node, position").forEachRow { row in
                hubIDs[row.integer(0)!, default: []].append(row.text(1)!)
            }
            // Repeated values (licenses, kinds, relations, evidence) share one string each, and
            // a name equal to its id shares the id's: fewer allocations now, fewer cache
            // misses when the graph is walked.
            var texts = TextInterner()
            let nodes = try Self.placing(count: Int(count)) { place in
                try BulkStatement(db, sql: """
                    SELECT key, id, name, kind, family_id, organization, released, parameters, size_label, context_length,
                           license, architecture, availability, facts, corrections FROM node
                    """).forEachRow { row in
                    let key = row.integer(0)!
                    let id = row.text(1)!
                    let name = row.utf8(2).map { $0.elementsEqual(id.utf8) ? id : String(decoding: $0, as: UTF8.self) } ?? id
                    try place(Int(position[Int(key)]), LineageNode(
                        id: id, name: name, kind: row.text(3, interning: &texts).flatMap(NodeKind.init(rawValue:)) ?? .pretrained,
                        family: row.text(4, interning: &texts), organization: row.text(5, interning: &texts),
                        released: row.text(6, interning: &texts), parameters: row.integer(7),
                        sizeLabel: row.text(8, interning: &texts), contextLength: row.integer(9).map(Int.init),
                        license: row.text(10, interning: &texts), architecture: row.text(11, interning: &texts),
                        availability: row.text(12, interning: &texts), hubIDs: hubIDs[key] ?? [],
                        facts: JSONColumn.decode(row.text(13)) ?? [:], corrections: JSONColumn.decode(row.text(14)) ?? []))
                }
            }
            // Edges are read into columns first and made in (parent id, child id) order once
            // sorted: made in table order, every edge would be copied again by the sort.
            var endpoints: [(parent: Int32, child: Int32)] = []
            var styles: [(relation: Relation, provenance: Provenance, confidence: Double)] = []
            var evidence: [String] = []
            try BulkStatement(db, sql: "SELECT parent, child, relation, provenance, confidence, evidence FROM edge").forEachRow { row in
                let parent = row.integer(0)!, child = row.integer(1)!
                // The foreign keys keep every endpoint a node; a store edited behind our back is
                // refused rather than read out of bounds.
                guard let parentPosition = position.indices.contains(Int(parent)) ? position[Int(parent)] : nil, parentPosition >= 0,
                      let childPosition = position.indices.contains(Int(child)) ? position[Int(child)] : nil, childPosition >= 0
                else { throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "edge \(parent) -> \(child) names a node key that is not in the node table") }
                endpoints.append((parentPosition, childPosition))
                styles.append((row.text(2, interning: &texts).flatMap(Relation.init(rawValue:)) ?? .finetune,
                               row.text(3, interning: &texts).flatMap(Provenance.init(rawValue:)) ?? .inferred, row.real(4)))
                evidence.append(row.text(5, interning: &texts) ?? "")
            }
            // Positions follow id order, so sorting by positions sorts by ids, as integers.
            let order = endpoints.indices.sorted { left, right in
                let (a, b) = (endpoints[left], endpoints[right])
                return a.parent == b.parent ? a.child < b.child : a.parent < b.parent
            }
            // The ids are the nodes' own strings, read in place: shared, not copied.
            let edges = nodes.withUnsafeBufferPointer { nodes in
                order.map { edge in
                    LineageEdge(parent: nodes[Int(endpoints[edge].parent)].id, child: nodes[Int(endpoints[edge].child)].id,
                                relation: styles[edge].relation, provenance: styles[edge].provenance,
                                confidence: styles[edge].confidence, evidence: evidence[edge])
                }
            }
            let families = try Row.fetchAll(db, sql: "SELECT id, name, organization, description, links FROM family ORDER BY id").map { row in
                Family(id: row[0], name: row[1], organization: row[2], description: row[3], links: JSONColumn.decode(row[4]) ?? [:])
            }
            return try LineageGraph(nodes: nodes, edges: edges, endpoints: order.map { endpoints[$0] }, families: families)
        }
    }

    /// An array of `count` elements that `fill` places at their positions, in any order,
    /// each exactly once: a million nodes read in key order land in id order directly, not
    /// through an array of optionals copied again. Anything else is an error, not a hole.
    private static func placing<Element>(
        count: Int, _ fill: (_ place: (Int, Element) throws -> Void) throws -> Void
    ) throws -> [Element] {
        try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            var filled = [Bool](repeating: false, count: count)
            var filledCount = 0
            do {
                try fill { slot, element in
                    guard buffer.indices.contains(slot), !filled[slot] else {
                        throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "node row placed at \(slot) twice or out of \(count)")
                    }
                    (buffer.baseAddress! + slot).initialize(to: element)
                    filled[slot] = true
                    filledCount += 1
                }
                guard filledCount == count else {
                    throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "\(filledCount) node rows for \(count) ids")
                }
            } catch {
                for slot in filled.indices where filled[slot] { (buffer.baseAddress! + slot).deinitialize(count: 1) }
                throw error
            }
            initialized = count
        }
    }

    /// Row counts, for `lineage status` and tests.
    public func counts() throws -> (nodes: Int, edges: Int, families: Int, imports: Int) {
        try pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM node") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM edge") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM family") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM import_log") ?? 0)
        }
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}

/// JSON text columns for small structured values.
enum JSONColumn {
    /// nil for an empty collection: most nodes have no facts or corrections.
    static func encode<T: Encodable & Collection>(_ value: T) -> String? {
        if value.isEmpty { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func decode<T: Decodable>(_ text: String?) -> T? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }
}
