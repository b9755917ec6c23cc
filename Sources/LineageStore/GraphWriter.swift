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

    mutating func upsert(nodes: [LineageNode], origin: String) throws {
        // Sort positions, not the nodes: moving large values a million times costs more than
        // the comparisons.
        for node in nodes.indices.sorted(by: { nodes[$0].id < nodes[$1].id }).lazy.map({ nodes[$0] }) {
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

    mutating func upsert(edges: [LineageEdge], origin: String) throws {
        let order = edges.indices.sorted { (edges[$0].parent, edges[$0].child) < (edges[$1].parent, edges[$1].child) }
        for edge in order.lazy.map({ edges[$0] }) {
            try upsertEdge.execute(.text(edge.parent), .text(edge.child), .text(edge.relation.rawValue),
                                   .text(edge.provenance.rawValue), .real(edge.confidence), .text(edge.evidence), .text(origin))
        }
    }

    private static func rankSQL(_ column: String) -> String {
        "CASE \(column) " + Provenance.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.rank)" }.joined(separator: " ") + " END"
    }
}
