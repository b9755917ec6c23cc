import Foundation
import GRDB
import LineageGraph
import LineageImport
@testable import LineageStore
import LineageTestSupport
import Testing

@Suite struct LineageStoreTests {
    let directory = TestSupport.scratchURL("lineage-store")

    let catalogYAML = """
        family: llama-2
        name: Llama 2
        models:
          - id: llama-2-7b
            name: Llama 2 7B
            hub: [meta-llama/Llama-2-7b-hf]
            license: llama2
          - id: llama-2-7b-chat
            hub: [meta-llama/Llama-2-7b-chat-hf]
            license: llama2
            parents: [{id: llama-2-7b, relation: chat}]
        """

    func catalog(_ text: String? = nil) throws -> Catalog {
        try CatalogLoader.load(files: [("llama-2.yaml", text ?? catalogYAML)])
    }

    func storeWithCatalog() throws -> LineageStore {
        let store = try LineageStore(directory: directory)
        let catalog = try catalog()
        try store.replaceCatalog(with: catalog.batch, digest: catalog.digest, fileCount: 1)
        return store
    }

    /// Everything the store holds, as bytes: equal snapshots mean nothing changed.
    func snapshot(_ store: LineageStore) throws -> [UInt8] {
        ExportFormat.json.export(try store.loadGraph())
    }

    @Test func aNewStoreIsMigratedAndInWALMode() throws {
        let store = try LineageStore(directory: directory)
        #expect(try store.catalogDigest() == nil)
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("lineage.sqlite").path)
        let (mode, pageSize, migrations, tables) = try queue.read { db throws -> (String?, Int?, [String], Bool) in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"),
             try Int.fetchOne(db, sql: "PRAGMA page_size"),
             try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try db.tableExists("edge") && db.tableExists("node") && db.tableExists("family") && db.tableExists("node_alias"))
        }
        #expect(mode == "wal")
        #expect(pageSize == 16384)
        #expect(migrations == ["v1: lineage graph", "v2: integer node keys", "v3: family index only over nodes with a family"])
        #expect(tables)
        // The family index leaves out nodes without a family, and family lookups still use it.
        let plan = try queue.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT key FROM node WHERE family_id = ?", arguments: ["llama"]).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX node_family") || $0.contains("USING COVERING INDEX node_family") })
        // Opening again is a no-op.
        _ = try LineageStore(directory: directory)
    }

    @Test func theCatalogRoundTripsThroughTheDatabase() throws {
        let store = try storeWithCatalog()
        #expect(try store.catalogDigest() == catalog().digest)
        let graph = try store.loadGraph()
        #expect(graph.nodes.map(\.id) == ["llama-2-7b", "llama-2-7b-chat"])
        #expect(graph.nodes[0].hubIDs == ["meta-llama/Llama-2-7b-hf"])
        #expect(graph.nodes[1].kind == .finetuned)
        #expect(graph.edges == [LineageEdge(parent: "llama-2-7b", child: "llama-2-7b-chat", relation: .chat, provenance: .curated)])
        #expect(graph.families.map(\.name) == ["Llama 2"])
    }

    @Test func importedReferencesLandOnCatalogNodesByHubId() throws {
        let store = try storeWithCatalog()
        let batch = ImportBatch(
            nodes: [LineageNode(id: "someone/tune", kind: .finetuned, license: "apache-2.0", hubIDs: ["someone/tune"])],
            edges: [LineageEdge(parent: "META-LLAMA/Llama-2-7b-hf", child: "someone/tune", relation: .finetune, provenance: .declared)],
            referencedNodes: [LineageNode(id: "META-LLAMA/Llama-2-7b-hf")])
        let summary = try store.apply(batch, origin: "import:/tmp/tune")
        #expect(summary.edges == 1)
        let graph = try store.loadGraph()
        #expect(graph.nodes.count == 3)  // no node was made for the alias
        #expect(graph.edges.contains { $0.parent == "llama-2-7b" && $0.child == "someone/tune" })
        let findings = graph.licenseFindings(for: graph.index["someone/tune"]!)
        #expect(findings.map(\.ancestor) == ["llama-2-7b"])
    }

    @Test func aCycleIsRefusedAndNothingChanges() throws {
        let store = try storeWithCatalog()
        let before = try snapshot(store)
        let counts = try store.counts()
        let batch = ImportBatch(
            nodes: [LineageNode(id: "x/loop")],
            edges: [LineageEdge(parent: "llama-2-7b-chat", child: "x/loop", relation: .finetune, provenance: .declared),
                    LineageEdge(parent: "x/loop", child: "llama-2-7b", relation: .finetune, provenance: .declared)])
        #expect {
            try store.apply(batch, origin: "import:/tmp/loop")
        } throws: { error in
            let text = "\(error)"
            return text.contains("would make a cycle") && text.contains("llama-2-7b -> llama-2-7b-chat -> x/loop -> llama-2-7b")
                && text.contains("nothing was changed")
        }
        #expect(try snapshot(store) == before)
        #expect(try store.counts() == counts)
    }

    @Test func aDeclaredEdgeNeverWeakensACuratedOne() throws {
        let store = try storeWithCatalog()
        try store.apply(ImportBatch(edges: [
            LineageEdge(parent: "llama-2-7b", child: "llama-2-7b-chat", relation: .finetune, provenance: .declared, confidence: 0.5, evidence: "card"),
        ]), origin: "import:/tmp/card")
        #expect(try store.loadGraph().edges.first?.provenance == .curated)
        #expect(try store.loadGraph().edges.first?.relation == .chat)
    }

    @Test func importsDoNotOverwriteCatalogFacts() throws {
        let store = try storeWithCatalog()
        try store.apply(ImportBatch(nodes: [LineageNode(id: "meta-llama/Llama-2-7b-hf", name: "other", license: "mit")]),
                        origin: "import:/tmp/x")
        let node = try store.loadGraph().nodes.first { $0.id == "llama-2-7b" }
        #expect(node?.license == "llama2")
        #expect(node?.name == "Llama 2 7B")
    }

    @Test func aChangedCatalogReplacesTheOldOneAndFoldsImportedDuplicates() throws {
        let store = try storeWithCatalog()
        // Imported before the catalog knew it:
        try store.apply(ImportBatch(
            nodes: [LineageNode(id: "lmsys/vicuna-7b-v1.5", kind: .finetuned, hubIDs: ["lmsys/vicuna-7b-v1.5"])],
            edges: [LineageEdge(parent: "meta-llama/Llama-2-7b-hf", child: "lmsys/vicuna-7b-v1.5", relation: .finetune, provenance: .declared)]),
            origin: "import:/tmp/vicuna")
        let changed = try catalog("""
            family: llama-2
            name: Llama 2
            models:
              - id: llama-2-7b
                hub: [meta-llama/Llama-2-7b-hf]
                license: llama2
              - id: vicuna-7b-v1-5
                hub: [lmsys/vicuna-7b-v1.5]
                license: llama2
            """)
        try store.replaceCatalog(with: changed.batch, digest: changed.digest, fileCount: 1)
        let graph = try store.loadGraph()
        #expect(graph.nodes.map(\.id) == ["llama-2-7b", "vicuna-7b-v1-5"])
        #expect(graph.edges.map { "\($0.parent)>\($0.child)" } == ["llama-2-7b>vicuna-7b-v1-5"])
        #expect(try store.catalogDigest() == changed.digest)
    }

    @Test func theDatabaseRefusesRowsOutsideTheVocabulary() throws {
        let store = try storeWithCatalog()
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("lineage.sqlite").path)
        try queue.write { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO edge SELECT chat.key, base.key, 'cousin', 'curated', 1, '', 'x'
                    FROM node AS chat, node AS base WHERE chat.id = 'llama-2-7b-chat' AND base.id = 'llama-2-7b'
                    """)
            }
        }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO edge SELECT key, 999999, 'finetune', 'curated', 1, '', 'x' FROM node WHERE id = 'llama-2-7b'")
            }
        }
        let violations = try queue.read { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") }
        #expect(violations.isEmpty)
        #expect(try store.counts().edges == 1)
    }

    @Test func bulkImportsKeepEveryConstraint() throws {
        let store = try LineageStore(directory: directory, bulkThreshold: 10)
        let catalog = try catalog()
        try store.replaceCatalog(with: catalog.batch, digest: catalog.digest, fileCount: 1)
        let nodes = (0..<50).map { LineageNode(id: "org/m\($0)", kind: .finetuned, license: "llama2") }
        let edges = (1..<50).map { LineageEdge(parent: "org/m\($0 / 2)", child: "org/m\($0)", relation: .finetune, provenance: .declared) }
            + [LineageEdge(parent: "meta-llama/Llama-2-7b-hf", child: "org/m0", relation: .finetune, provenance: .declared)]
        try store.apply(ImportBatch(nodes: nodes, edges: edges), origin: "bulk")
        let graph = try store.loadGraph()
        #expect(graph.nodes.count == 52)
        #expect(graph.edges.count == 51)  // the catalog's chat edge and the fifty imported
        #expect(Set(graph.descendants(of: graph.index["llama-2-7b"]!).map { graph.nodes[Int($0)].id }).count == 51)
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("lineage.sqlite").path)
        let (violations, indexes) = try queue.read { db throws -> (Int, [String]) in
            (try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count,
             try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('edge_child', 'node_id') ORDER BY name"))
        }
        #expect(violations == 0)
        #expect(indexes == ["edge_child", "node_id"])
        // An endpoint that is neither imported nor stored is refused, and nothing lands.
        let before = try snapshot(store)
        #expect {
            try store.apply(ImportBatch(nodes: (0..<20).map { LineageNode(id: "x/n\($0)") },
                                        edges: [LineageEdge(parent: "x/ghost", child: "x/n1", relation: .finetune, provenance: .declared)]),
                            origin: "bulk-bad")
        } throws: { "\($0)".contains("edge x/ghost -> x/n1 names 'x/ghost', which is neither imported nor in the store") }
        #expect(try snapshot(store) == before)
        // A cycle in a bulk import is refused too, and the child index survives the rollback.
        #expect(throws: LineageStore.StoreError.self) {
            try store.apply(ImportBatch(nodes: (0..<20).map { LineageNode(id: "y/n\($0)") },
                                        edges: [LineageEdge(parent: "y/n1", child: "y/n2", relation: .finetune, provenance: .declared),
                                                LineageEdge(parent: "y/n2", child: "y/n1", relation: .finetune, provenance: .declared)]),
                            origin: "bulk-cycle")
        }
        #expect(try snapshot(store) == before)
        let stillIndexed = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('edge_child', 'node_id') ORDER BY name")
        }
        #expect(stillIndexed == ["edge_child", "node_id"])
    }

    @Test func aBulkImportOverAnEarlierOneUpdatesInPlace() throws {
        let store = try LineageStore(directory: directory, bulkThreshold: 10)
        func batch(license: String, provenance: Provenance) -> ImportBatch {
            ImportBatch(nodes: (0..<30).map { LineageNode(id: "org/m\($0)", kind: .finetuned, license: license) },
                        edges: (1..<30).map { LineageEdge(parent: "org/m\($0 / 3)", child: "org/m\($0)", relation: .finetune, provenance: provenance) })
        }
        try store.apply(batch(license: "mit", provenance: .declared), origin: "first")
        // The same ids again (and one twice in the batch): updated, not duplicated; the
        // weaker provenance does not replace the declared edges.
        var again = batch(license: "apache-2.0", provenance: .inferred)
        again.nodes.append(LineageNode(id: "org/m5", kind: .quantized, license: "other"))
        try store.apply(again, origin: "second")
        let graph = try store.loadGraph()
        #expect(graph.nodes.count == 30)
        #expect(graph.edges.count == 29)
        #expect(graph.nodes[Int(graph.index["org/m1"]!)].license == "apache-2.0")
        #expect(graph.nodes[Int(graph.index["org/m5"]!)].kind == .quantized)
        #expect(graph.edges.allSatisfy { $0.provenance == .declared })
        // Edges come back in (parent id, child id) order, whatever order the keys were made in.
        #expect(graph.edges == graph.edges.sorted { ($0.parent, $0.child) < ($1.parent, $1.child) })
    }

    @Test func aBulkImportSettlesItsOwnRepeatedEdgesAsTheUpsertWould() throws {
        // 150 nodes: more than two 64-row insert statements, and a remainder written row by row.
        let store = try LineageStore(directory: directory, bulkThreshold: 10)
        let nodes = (0..<150).map { LineageNode(id: "org/m\($0)", kind: .finetuned, license: "mit", hubIDs: ["Org/M\($0)"]) }
        var edges = (1..<150).map { LineageEdge(parent: "org/m\($0 - 1)", child: "org/m\($0)", relation: .finetune, provenance: .declared) }
        // A later, weaker claim loses; a later claim as strong wins.
        edges.append(LineageEdge(parent: "org/m0", child: "org/m1", relation: .merge, provenance: .inferred))
        edges.append(LineageEdge(parent: "org/m1", child: "org/m2", relation: .adapter, provenance: .declared, evidence: "later"))
        try store.apply(ImportBatch(nodes: nodes, edges: edges), origin: "bulk")
        let graph = try store.loadGraph()
        #expect(graph.nodes.count == 150)
        #expect(graph.edges.count == 149)
        #expect(graph.lookup("ORG/M149") == graph.index["org/m149"])
        let first = try #require(graph.edges.first { $0.parent == "org/m0" && $0.child == "org/m1" })
        #expect(first.relation == .finetune && first.provenance == .declared)
        let second = try #require(graph.edges.first { $0.parent == "org/m1" && $0.child == "org/m2" })
        #expect(second.relation == .adapter && second.evidence == "later")
        #expect(graph.nodes.allSatisfy { $0.name == $0.id && $0.license == "mit" })
    }

    @Test func aVersionOneStoreIsMigratedWithEveryNodeEdgeAndAlias() throws {
        // A store as the first release wrote it: text ids in the edge and alias tables.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("lineage.sqlite").path
        let old = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(old, upTo: "v1: lineage graph")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO node (id, name, kind, license, origin) VALUES
                    ('llama-2-7b', 'Llama 2 7B', 'pretrained', 'llama2', 'catalog'),
                    ('org/tune', 'org/tune', 'finetuned', 'mit', 'import:x'),
                    ('org/q', 'org/q', 'quantized', NULL, 'reference');
                INSERT INTO node_alias VALUES ('meta-llama/llama-2-7b-hf', 'llama-2-7b', 'meta-llama/Llama-2-7b-hf', 0);
                INSERT INTO edge VALUES ('llama-2-7b', 'org/tune', 'finetune', 'declared', 0.9, 'card', 'import:x'),
                                        ('org/tune', 'org/q', 'quantized', 'inferred', 0.5, 'name', 'import:x');
                """)
        }
        try old.close()
        let store = try LineageStore(directory: directory)
        let graph = try store.loadGraph()
        #expect(graph.nodes.map(\.id) == ["llama-2-7b", "org/q", "org/tune"])
        #expect(graph.nodes[0].hubIDs == ["meta-llama/Llama-2-7b-hf"])
        #expect(graph.edges == [
            LineageEdge(parent: "llama-2-7b", child: "org/tune", relation: .finetune, provenance: .declared, confidence: 0.9, evidence: "card"),
            LineageEdge(parent: "org/tune", child: "org/q", relation: .quantized, provenance: .inferred, confidence: 0.5, evidence: "name"),
        ])
        // The migrated store keeps its rules: an alias still resolves, a cycle is still refused.
        try store.apply(ImportBatch(nodes: [LineageNode(id: "org/other")],
                                    edges: [LineageEdge(parent: "meta-llama/Llama-2-7b-hf", child: "org/other", relation: .finetune, provenance: .declared)]),
                        origin: "after")
        #expect(try store.loadGraph().parents(of: try store.loadGraph().index["org/other"]!).count == 1)
        #expect(throws: LineageStore.StoreError.self) {
            try store.apply(ImportBatch(edges: [LineageEdge(parent: "org/q", child: "llama-2-7b", relation: .finetune, provenance: .declared)]), origin: "cycle")
        }
    }

    @Test func theStoreIsFoundFromFlagThenEnvironmentThenXDG() {
        #expect(StoreLocation.resolve(explicit: "/a", environment: ["LINEAGE_STORE": "/b"]).path == "/a")
        #expect(StoreLocation.resolve(explicit: nil, environment: ["LINEAGE_STORE": "/b", "HOME": "/h"]).path == "/b")
        #expect(StoreLocation.resolve(explicit: nil, environment: ["XDG_DATA_HOME": "/x", "HOME": "/h"]).path == "/x/lineage")
        #expect(StoreLocation.resolve(explicit: nil, environment: ["HOME": "/h"]).path == "/h/.local/share/lineage")
    }

    @Test func anUnwritableStoreSaysWhatToDo() {
        #expect {
            try LineageStore(directory: URL(fileURLWithPath: "/proc/lineage-cannot-be-here"))
        } throws: { error in
            "\(error)".contains("cannot open the store at /proc/lineage-cannot-be-here") && "\(error)".contains("--store DIR")
        }
    }
}
