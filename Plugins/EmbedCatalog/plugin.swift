import Foundation
import PackagePlugin

/// Embeds the curated catalog (`Graph/*.yaml` at the package root) into the target as Swift
/// source, so the `lineage` binary carries its catalog and works from any directory, on a
/// fresh machine and in the container image, with no resource bundle to ship beside it.
@main
struct EmbedCatalog: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let catalog = context.package.directoryURL.appending(path: "Graph")
        let files = try FileManager.default.contentsOfDirectory(
            at: catalog, includingPropertiesForKeys: nil
        )
        .filter { $0.pathExtension == "yaml" }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedCatalogFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the Graph/ catalog (\(files.count) files)",
                executable: try context.tool(named: "catalog-embedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
