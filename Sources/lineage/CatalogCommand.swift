import ArgumentParser
import Foundation
import LineageImport

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Check a catalog directory (Graph/) without touching the store."
    )

    @Argument(help: "The catalog directory (default: the built-in catalog).")
    var directory: String?

    func run() throws {
        try runReporting {
            let catalog = try StoreOptions.parse(directory.map { ["--catalog", $0] } ?? []).loadCatalog()
            let datasets = catalog.batch.nodes.filter { $0.kind == .dataset }.count
            print("catalog ok: \(catalog.fileCount) files, \(catalog.batch.families.count) families, \(catalog.batch.nodes.count - datasets) models, \(datasets) datasets, \(catalog.batch.edges.count) edges (digest \(catalog.digest))")
        }
    }
}
