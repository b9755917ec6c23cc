import GRDB
import LineageGraph

/// Writes nodes and edges inside one transaction.
///
/// Nodes get integer keys in the order they are first written (the table's rowid), so new
/// nodes append to the node B-tree, and edges are written sorted by their integer key pairs,
/// so they append to the edge B-tree too: on a million-model import that is the difference
/// between seconds and a minute, and there is no string sort at all.
///
/// A bulk writer (a large import, see `LineageStore.apply`) reads every stored id up front
/// instead of looking ids up one by one, and drops the id and child indexes to build each
/// once at the end from sorted keys, instead of taking a million random inserts.
struct GraphWriter {
    private let db: Database
    private let bulk: Bool
    private let families: Set<String>
    /// Node id -> key, for every node this writer wrote or looked up (every stored node when bulk).
    private var keys: [String: Int64]
    private var nextKey: Int64
    private let findKey: BulkStatement
    private let updateNode: BulkStatement
    private let insertReference: BulkStatement
    private let upsertAlias: BulkStatement
    private let upsertEdge: BulkStatement

    private static let nodeColumns = """
        id, name, kind, family_id, organization, released, parameters, size_label,
        context_length, license, architecture, availability, facts, corrections, origin
        """

    /// `expectedNodes`: how many new nodes a bulk writer should make room for.
    init(_ db: Database, bulk: Bool = false, expectedNodes: Int = 0) throws {
        self.db = db
        self.bulk = bulk
        families = try Set(String.fetchAll(db, sql: "SELECT id FROM family"))
        nextKey = try Int64.fetchOne(db, sql: "SELECT coalesce(max(key), 0) + 1 FROM node") ?? 1
        findKey = try BulkStatement(db, sql: "SELECT key FROM node WHERE id = ?")
        // Bound like a node insert (see write(nodes:)), key first (?1).
        updateNode = try BulkStatement(db, sql: """
            UPDATE node SET id = ?2, name = ?3, kind = ?4, family_id = ?5, organization = ?6, released = ?7, parameters = ?8,
                size_label = ?9, context_length = ?10, license = ?11, architecture = ?12, availability = ?13, facts = ?14,
                corrections = ?15, origin = ?16
            WHERE key = ?1
            """)
        insertReference = try BulkStatement(db, sql: "INSERT INTO node (key, id, name, kind, origin) VALUES (?, ?, ?, ?, 'reference')")
        upsertAlias = try BulkStatement(db, sql: """
            INSERT INTO node_alias (alias, node, hub_id, position) VALUES (?, ?, ?, ?)
            ON CONFLICT(alias) DO UPDATE SET node = excluded.node, hub_id = excluded.hub_id, position = excluded.position
            """)
        // A stronger provenance replaces a weaker one; never the other way round.
        upsertEdge = try BulkStatement(db, sql: """
            INSERT INTO edge (parent, child, relation, provenance, confidence, evidence, origin)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(parent, child) DO UPDATE SET relation = excluded.relation,
                provenance = excluded.provenance, confidence = excluded.confidence,
                evidence = excluded.evidence, origin = excluded.origin
            WHERE \(Self.rankSQL("excluded.provenance")) >= \(Self.rankSQL("edge.provenance"))
            """)
        if bulk {
            keys = [:]
            keys.reserveCapacity((try Int.fetchOne(db, sql: "SELECT count(*) FROM node") ?? 0) + expectedNodes)
            let rows = try Row.fetchCursor(db, sql: "SELECT key, id FROM node")
            while let row = try rows.next() { keys[row[1]] = row[0] }
            // Inside the transaction: a failure rolls the drops back with everything else.
            try db.execute(sql: "DROP INDEX node_id; DROP INDEX edge_child")
        } else {
            keys = [:]
        }
    }

    /// The stored key of node `id`, or nil when the store does not have it.
    mutating func key(of id: String) throws -> Int64? {
        if let known = keys[id] { return known }
        // A bulk writer read every stored id at the start.
        guard !bulk, let found = try findKey.fetchInteger(.text(id)) else { return nil }
        keys[id] = found
        return found
    }

    /// Every id -> key this writer knows: for a bulk writer, every node stored or assigned.
    var knownKeys: [String: Int64] { keys }

    /// One past the largest key handed out so far.
    var keyLimit: Int64 { nextKey }

    /// A node's key and whether the write must insert it (else update it).
    typealias AssignedKey = (key: Int64, isNew: Bool)

    /// Keys for `nodes`: a stored node keeps its own, a new one gets the next free key (an
    /// id that comes twice is new only the first time).
    mutating func assignKeys(_ nodes: [LineageNode]) throws -> [AssignedKey] {
        try nodes.map { node in
            if let stored = try key(of: node.id) { return (stored, false) }
            defer { nextKey += 1 }
            keys[node.id] = nextKey
            return (nextKey, true)
        }
    }

    /// Inserts or replaces `nodes` (in the order given: new ones get increasing keys).
    mutating func upsert(nodes: [LineageNode], origin: String) throws {
        try write(nodes: nodes, keys: assignKeys(nodes), origin: origin)
    }

    /// Writes `nodes` under the keys `assignKeys` gave them.
    func write(nodes: [LineageNode], keys assigned: [AssignedKey], origin: String) throws {
        var inserts = try BulkInsert(db, prefix: "INSERT INTO node (key, \(Self.nodeColumns)) VALUES", columns: 16)
        for (node, assigned) in zip(nodes, assigned) {
            let family = node.family.flatMap { families.contains($0) ? $0 : nil }
            let values: [BulkValue] = [
                .integer(assigned.key), .text(node.id), .text(node.name), .text(node.kind.rawValue), .text(family),
                .text(node.organization), .text(node.released), .integer(node.parameters), .text(node.sizeLabel),
                .integer(node.contextLength), .text(node.license), .text(node.architecture), .text(node.availability),
                .text(JSONColumn.encode(node.facts)), .text(JSONColumn.encode(node.corrections)), .text(origin),
            ]
            if assigned.isNew {
                try inserts.add(values)
            } else {
                // An id that comes twice is inserted first: that row must be there to update.
                try inserts.flush()
                try updateNode.execute(values)
            }
        }
        try inserts.flush()
        // After every node row: an alias must name a node that is there.
        for (node, assigned) in zip(nodes, assigned) { try insertAliases(of: node, key: assigned.key) }
    }

    /// Nodes an import only names: created bare when unknown, never overwriting what is known.
    func writeReferences(_ nodes: [LineageNode], keys assigned: [AssignedKey]) throws {
        for (node, assigned) in zip(nodes, assigned) where assigned.isNew {
            try insertReference.execute([.integer(assigned.key), .text(node.id), .text(node.name), .text(node.kind.rawValue)])
            try insertAliases(of: node, key: assigned.key)
        }
    }

    private func insertAliases(of node: LineageNode, key: Int64) throws {
        for (position, hubID) in node.hubIDs.enumerated() {
            try upsertAlias.execute([.text(hubID.lowercased()), .integer(key), .text(hubID), .integer(position)])
        }
    }

    /// Edges with their endpoints as keys, and the order that writes them in key order.
    struct ResolvedEdges: Sendable {
        var endpoints: [(parent: Int64, child: Int64)]
        var order: [Int]
    }

    /// Resolves every endpoint through `key`. Every endpoint must be a node written before
    /// or already stored: an edge that names anything else is refused by name (this is also
    /// what SQLite's foreign keys would catch, and they are off for bulk writes). Needs no
    /// database when `key` reads a complete map, so a bulk write runs it on the second core.
    static func resolve(_ edges: [LineageEdge], key: (String) throws -> Int64?) throws -> ResolvedEdges {
        var endpoints: [(parent: Int64, child: Int64)] = []
        endpoints.reserveCapacity(edges.count)
        for edge in edges {
            guard let parent = try key(edge.parent) else { throw unknownEndpoint(edge, edge.parent) }
            guard let child = try key(edge.child) else { throw unknownEndpoint(edge, edge.child) }
            endpoints.append((parent, child))
        }
        // The same edge twice keeps batch order, which decides which one wins (see write).
        let order = endpoints.indices.sorted { left, right in
            let (a, b) = (endpoints[left], endpoints[right])
            return a.parent != b.parent ? a.parent < b.parent : a.child != b.child ? a.child < b.child : left < right
        }
        return ResolvedEdges(endpoints: endpoints, order: order)
    }

    /// Resolves and writes `edges` (see `resolve`).
    @discardableResult
    mutating func upsert(edges: [LineageEdge], origin: String) throws -> ResolvedEdges {
        var writer = self
        defer { self = writer }
        let resolved = try Self.resolve(edges) { try writer.key(of: $0) }
        try write(edges: edges, resolved: resolved, origin: origin)
        return resolved
    }

    /// Writes edges in (parent key, child key) order, so they append to the edge B-tree.
    /// Into a table that had no edges, each is a plain insert: the batch's own repeats are
    /// settled here the way the upsert would settle them (a later claim wins unless its
    /// provenance is weaker), and SQLite skips the conflict handling per row.
    func write(edges: [LineageEdge], resolved: ResolvedEdges, origin: String, intoEmptyTable: Bool = false) throws {
        func values(_ position: Int) -> [BulkValue] {
            let edge = edges[position], endpoint = resolved.endpoints[position]
            return [.integer(endpoint.parent), .integer(endpoint.child), .text(edge.relation.rawValue),
                    .text(edge.provenance.rawValue), .real(edge.confidence), .text(edge.evidence), .text(origin)]
        }
        guard intoEmptyTable else {
            for position in resolved.order { try upsertEdge.execute(values(position)) }
            return
        }
        var inserts = try BulkInsert(db, prefix: "INSERT INTO edge (parent, child, relation, provenance, confidence, evidence, origin) VALUES",
                                     columns: 7)
        var run = resolved.order.startIndex
        while run < resolved.order.endIndex {
            var winner = resolved.order[run]
            var next = run + 1
            while next < resolved.order.endIndex && resolved.endpoints[resolved.order[next]] == resolved.endpoints[winner] {
                if edges[resolved.order[next]].provenance.rank >= edges[winner].provenance.rank { winner = resolved.order[next] }
                next += 1
            }
            try inserts.add(values(winner))
            run = next
        }
        try inserts.flush()
    }

    /// A cycle among `endpoints`, whose keys are all below `keyLimit`, or nil.
    static func cycle(among endpoints: [(parent: Int64, child: Int64)], keyLimit: Int64) -> [Int64]? {
        // Keys are dense (handed out in order from 1), so they index arrays directly.
        guard keyLimit < Int64(Int32.max) else { return LineageGraph.findCycle(edges: endpoints) }
        let dense = endpoints.map { (parent: Int32(truncatingIfNeeded: $0.parent), child: Int32(truncatingIfNeeded: $0.child)) }
        return LineageGraph.findCycle(nodeCount: Int(keyLimit), edges: dense)?.map(Int64.init)
    }

    /// Ends the write: a bulk writer builds the indexes it dropped. Building the unique id
    /// index is also where two nodes with one id would be refused, and cannot be: every id
    /// went through `keys`.
    func finish() throws {
        if bulk { try db.execute(sql: "CREATE UNIQUE INDEX node_id ON node(id); CREATE INDEX edge_child ON edge(child)") }
    }

    private static func unknownEndpoint(_ edge: LineageEdge, _ id: String) -> DatabaseError {
        DatabaseError(resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY,
                      message: "edge \(edge.parent) -> \(edge.child) names '\(id)', which is neither imported nor in the store")
    }

    private static func rankSQL(_ column: String) -> String {
        "CASE \(column) " + Provenance.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.rank)" }.joined(separator: " ") + " END"
    }
}
