import GRDB
import LineageGraph

/// Versioned migrations. Never edit a registered migration: add the next one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: lineage graph") { db in
            // The vocabularies are tables that columns reference, not `CHECK (x IN (...))`:
            // SQLite rebuilds an IN list's lookup table for every row it checks, which made a
            // million-row import several times slower; a foreign key probe costs next to nothing.
            try db.execute(sql: """
                CREATE TABLE node_kind (name TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE relation (name TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE provenance (name TEXT PRIMARY KEY NOT NULL, rank INTEGER NOT NULL) WITHOUT ROWID;
                """)
            for kind in NodeKind.allCases { try db.execute(sql: "INSERT INTO node_kind VALUES (?)", arguments: [kind.rawValue]) }
            for relation in Relation.allCases { try db.execute(sql: "INSERT INTO relation VALUES (?)", arguments: [relation.rawValue]) }
            for provenance in Provenance.allCases {
                try db.execute(sql: "INSERT INTO provenance VALUES (?, ?)", arguments: [provenance.rawValue, provenance.rank])
            }
            try db.execute(sql: """
                CREATE TABLE family (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    organization TEXT,
                    description TEXT,
                    links TEXT,                      -- JSON object name -> URL
                    origin TEXT NOT NULL             -- 'catalog' or 'import:<path>'
                );
                -- Models and datasets: one table, told apart by kind, so edges and exports
                -- treat them alike.
                CREATE TABLE node (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL REFERENCES node_kind(name),
                    family_id TEXT REFERENCES family(id) ON DELETE SET NULL,
                    organization TEXT,
                    released TEXT,
                    parameters INTEGER,
                    size_label TEXT,
                    context_length INTEGER,
                    license TEXT,
                    architecture TEXT,
                    availability TEXT,
                    facts TEXT,                      -- JSON object of flat string facts
                    corrections TEXT,                -- JSON array of {field, survey, fact, source}
                    origin TEXT NOT NULL             -- 'catalog', 'import:<path>' or 'reference'
                ) WITHOUT ROWID;
                CREATE INDEX node_family ON node(family_id);
                -- Hub repo ids (lowercased) naming a node; the first is canonical.
                CREATE TABLE node_alias (
                    alias TEXT PRIMARY KEY NOT NULL,
                    node_id TEXT NOT NULL REFERENCES node(id) ON DELETE CASCADE ON UPDATE CASCADE,
                    hub_id TEXT NOT NULL,            -- as spelled upstream
                    position INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX node_alias_node ON node_alias(node_id);
                CREATE TABLE edge (
                    parent_id TEXT NOT NULL REFERENCES node(id) ON DELETE CASCADE ON UPDATE CASCADE,
                    child_id TEXT NOT NULL REFERENCES node(id) ON DELETE CASCADE ON UPDATE CASCADE,
                    relation TEXT NOT NULL REFERENCES relation(name),
                    provenance TEXT NOT NULL REFERENCES provenance(name),
                    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
                    evidence TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    PRIMARY KEY (parent_id, child_id),
                    CHECK (parent_id <> child_id)
                ) WITHOUT ROWID;
                CREATE INDEX edge_child ON edge(child_id);
                CREATE TABLE catalog_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    digest TEXT NOT NULL,
                    file_count INTEGER NOT NULL,
                    loaded_at TEXT NOT NULL
                );
                CREATE TABLE import_log (
                    id INTEGER PRIMARY KEY,
                    origin TEXT NOT NULL,
                    imported_at TEXT NOT NULL,
                    nodes INTEGER NOT NULL,
                    edges INTEGER NOT NULL,
                    warnings TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: integer node keys") { db in
            // Edges and aliases point at an integer key instead of repeating the text id.
            // An edge row shrinks from two ~20-byte strings to two small integers, its
            // primary key compares as integers, and a bulk import no longer sorts a million
            // strings to append to the edge B-tree in order. The id keeps its own unique
            // index (not a table constraint) so that a bulk import can drop it and build it
            // once from sorted keys, as it does the child index.
            try db.execute(sql: """
                CREATE TABLE node_new (
                    key INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL REFERENCES node_kind(name),
                    family_id TEXT REFERENCES family(id) ON DELETE SET NULL,
                    organization TEXT,
                    released TEXT,
                    parameters INTEGER,
                    size_label TEXT,
                    context_length INTEGER,
                    license TEXT,
                    architecture TEXT,
                    availability TEXT,
                    facts TEXT,                      -- JSON object of flat string facts
                    corrections TEXT,                -- JSON array of {field, survey, fact, source}
                    origin TEXT NOT NULL             -- 'catalog', 'import:<path>' or 'reference'
                );
                INSERT INTO node_new (id, name, kind, family_id, organization, released, parameters, size_label,
                        context_length, license, architecture, availability, facts, corrections, origin)
                    SELECT id, name, kind, family_id, organization, released, parameters, size_label,
                        context_length, license, architecture, availability, facts, corrections, origin
                    FROM node ORDER BY id;
                CREATE UNIQUE INDEX node_id ON node_new(id);
                -- Hub repo ids (lowercased) naming a node; the first is canonical.
                CREATE TABLE node_alias_new (
                    alias TEXT PRIMARY KEY NOT NULL,
                    node INTEGER NOT NULL REFERENCES node(key) ON DELETE CASCADE,
                    hub_id TEXT NOT NULL,            -- as spelled upstream
                    position INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO node_alias_new (alias, node, hub_id, position)
                    SELECT alias.alias, node_new.key, alias.hub_id, alias.position
                    FROM node_alias AS alias JOIN node_new ON node_new.id = alias.node_id;
                CREATE TABLE edge_new (
                    parent INTEGER NOT NULL REFERENCES node(key) ON DELETE CASCADE,
                    child INTEGER NOT NULL REFERENCES node(key) ON DELETE CASCADE,
                    relation TEXT NOT NULL REFERENCES relation(name),
                    provenance TEXT NOT NULL REFERENCES provenance(name),
                    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
                    evidence TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    PRIMARY KEY (parent, child),
                    CHECK (parent <> child)
                ) WITHOUT ROWID;
                INSERT INTO edge_new (parent, child, relation, provenance, confidence, evidence, origin)
                    SELECT parent.key, child.key, edge.relation, edge.provenance, edge.confidence, edge.evidence, edge.origin
                    FROM edge JOIN node_new AS parent ON parent.id = edge.parent_id
                        JOIN node_new AS child ON child.id = edge.child_id
                    ORDER BY 1, 2;
                DROP TABLE edge;
                DROP TABLE node_alias;
                DROP TABLE node;
                ALTER TABLE node_new RENAME TO node;
                ALTER TABLE node_alias_new RENAME TO node_alias;
                ALTER TABLE edge_new RENAME TO edge;
                CREATE INDEX node_family ON node(family_id);
                CREATE INDEX node_alias_node ON node_alias(node);
                CREATE INDEX edge_child ON edge(child);
                """)
        }
        migrator.registerMigration("v3: family index only over nodes with a family") { db in
            // Most nodes (every Hub import) have no family: a partial index takes no entry for
            // them, which was a quarter of a million-model import's inserts. `family_id = ?`
            // implies NOT NULL, so family lookups still use it.
            try db.execute(sql: """
                DROP INDEX node_family;
                CREATE INDEX node_family ON node(family_id) WHERE family_id IS NOT NULL;
                """)
        }
        return migrator
    }
}
