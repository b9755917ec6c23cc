import GRDB
import LineageGraph

/// Writes nodes and edges inside one transaction. Rows go in key order, so SQLite appends to
/// its B-trees instead of splitting pages all over them: on a million-model import that is
/// the difference between seconds and a minute.
struct GraphWriter {
    private let db: Database
    private let families: Set<String>
    private let upsertNode: BulkStatement
    private let insertReference: BulkStatement
    private let upsertAlias: BulkStatement
    private let upsertEdge: BulkStatement

    init(_ db: Database) throws {
        self.db = db
        families = try Set(String.fetchAll(db, sql: "SELECT id FROM family"))
        upsertNode = try BulkStatement(db, sql: """
            INSERT INTO node (id, name, kind, family_id, organization, released, parameters, size_label,
                context_length, license, architecture, availability, facts, corrections, origin)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, family_id = excluded.family_id,
                organization = excluded.organization, released = excluded.released, parameters = excluded.parameters,
                size_label = excluded.size_label, context_length = excluded.context_length, license = excluded.license,
                architecture = excluded.architecture, availability = excluded.availability, facts = excluded.facts,
                corrections = excluded.corrections, origin = excluded.origin
            """)
        insertReference = try BulkStatement(db, sql: """
            INSERT INTO node (id, name, kind, origin) VALUES (?, ?, ?, 'reference') ON CONFLICT(id) DO NOTHING
            """)
        upsertAlias = try BulkStatement(db, sql: """
            INSERT INTO node_alias (alias, node_id, hub_id, position) VALUES (?, ?, ?, ?)
            ON CONFLICT(alias) DO UPDATE SET node_id = excluded.node_id, hub_id = excluded.hub_id, position = excluded.position
            """)
        // A stronger provenance replaces a weaker one; never the other way round.
        upsertEdge = try BulkStatement(db, sql: """
            INSERT INTO edge (parent_id, child_id, relation, provenance, confidence, evidence, origin)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(parent_id, child_id) DO UPDATE SET relation = excluded.relation,
                provenance = excluded.provenance, confidence = excluded.confidence,
                evidence = excluded.evidence, origin = excluded.origin
            WHERE \(Self.rankSQL("excluded.provenance")) >= \(Self.rankSQL("edge.provenance"))
            """)
    }

    /// Positions of `nodes` in id order. Positions, not the nodes: moving large values a
    /// million times costs more than the comparisons.
    static func keyOrder(of nodes: [LineageNode]) -> [Int] {
        nodes.indices.sorted { nodes[$0].id < nodes[$1].id }
    }

    /// Positions of `edges` in (parent, child) order, the edge table's key.
    static func keyOrder(of edges: [LineageEdge]) -> [Int] {
        edges.indices.sorted { left, right in
            let leftParent = edges[left].parent, rightParent = edges[right].parent
            return leftParent == rightParent ? edges[left].child < edges[right].child : leftParent < rightParent
        }
    }

    mutating func upsert(nodes: [LineageNode], origin: String, order: [Int]? = nil) throws {
        for node in (order ?? Self.keyOrder(of: nodes)).lazy.map({ nodes[$0] }) {
            let family = node.family.flatMap { families.contains($0) ? $0 : nil }
            try upsertNode.execute(
                .text(node.id), .text(node.name), .text(node.kind.rawValue), .text(family), .text(node.organization),
                .text(node.released), .integer(node.parameters), .text(node.sizeLabel), .integer(node.contextLength),
                .text(node.license), .text(node.architecture), .text(node.availability),
                .text(JSONColumn.encode(node.facts)), .text(JSONColumn.encode(node.corrections)), .text(origin))
            try insertAliases(of: node)
        }
    }

    /// Nodes an import only names: created bare when unknown, never overwriting what is known.
    mutating func insertIfMissing(_ nodes: [LineageNode]) throws {
        for node in nodes.indices.sorted(by: { nodes[$0].id < nodes[$1].id }).lazy.map({ nodes[$0] }) {
            try insertReference.execute(.text(node.id), .text(node.name), .text(node.kind.rawValue))
            if db.changesCount > 0 { try insertAliases(of: node) }
        }
    }

    private func insertAliases(of node: LineageNode) throws {
        for (position, hubID) in node.hubIDs.enumerated() {
            try upsertAlias.execute(.text(hubID.lowercased()), .text(node.id), .text(hubID), .integer(position))
        }
    }

    /// Every edge endpoint must be a node being written or one already stored. Checked here,
    /// once per distinct id, when SQLite's own per-row checks are off (bulk writes).
    func checkEndpoints(of edges: [LineageEdge], written known: Set<String>) throws {
        var checked = Set<String>()
        for edge in edges {
            for id in [edge.parent, edge.child] where !known.contains(id) && checked.insert(id).inserted {
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM node WHERE id = ?", arguments: [id]) == true else {
                    throw DatabaseError(resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY,
                                        message: "edge \(edge.parent) -> \(edge.child) names '\(id)', which is neither imported nor in the store")
                }
            }
        }
    }

    /// Writes edges in key order. With `rebuildingChildIndex`, the child index is dropped
    /// first and built once at the end from sorted keys, instead of taking a million random
    /// inserts (a bulk import into a table that size).
    mutating func upsert(edges: [LineageEdge], origin: String, order: [Int]? = nil, rebuildingChildIndex: Bool = false) throws {
        // Inside the transaction: a failure rolls the drop back with everything else.
        if rebuildingChildIndex { try db.execute(sql: "DROP INDEX edge_child") }
        for edge in (order ?? Self.keyOrder(of: edges)).lazy.map({ edges[$0] }) {
            try upsertEdge.execute(.text(edge.parent), .text(edge.child), .text(edge.relation.rawValue),
                                   .text(edge.provenance.rawValue), .real(edge.confidence), .text(edge.evidence), .text(origin))
        }
        if rebuildingChildIndex { try db.execute(sql: "CREATE INDEX edge_child ON edge(child_id)") }
    }

    private static func rankSQL(_ column: String) -> String {
        "CASE \(column) " + Provenance.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.rank)" }.joined(separator: " ") + " END"
    }
}
