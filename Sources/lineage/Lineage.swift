import ArgumentParser

@main
struct Lineage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Model lineage for teams that run open LLMs: the family tree of every model, its licenses, and exports.",
        discussion: """
            The store (a SQLite database) is found from --store DIR, else $LINEAGE_STORE, else \
            $XDG_DATA_HOME/lineage (~/.local/share/lineage). The curated catalog built into this \
            binary (Graph/ in the source tree) is loaded on first use and whenever it changes; \
            --catalog DIR or $LINEAGE_CATALOG uses a catalog directory instead.
            """,
        version: "0.1.0",
        subcommands: [
            ExportCommand.self, RenderCommand.self, ShowCommand.self, ImportCommand.self,
            AncestorsCommand.self, DescendantsCommand.self, PathCommand.self, FamilyCommand.self,
            LicensesCommand.self, CatalogCommand.self, QuantizeCommand.self, MirrorCommand.self, DaemonCommand.self,
        ]
    )
}
