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
        return migrator
    }
}
