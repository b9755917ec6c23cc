import ArgumentParser
import Foundation
import LineageImport
import LineageStore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read the lineage a local model repository declares (README front matter, config.json, adapter_config.json, GGUF metadata) into the store."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Folders of model repositories.")
    var directories: [String]

    @Option(name: .long, help: "The model's id (default: org/name from a Hub cache path, else the folder's name). Only with one folder.")
    var id: String?

    func validate() throws {
        if id != nil && directories.count > 1 { throw ValidationError("--id names one model: give one folder with it") }
        if directories.isEmpty { throw ValidationError("give at least one model folder") }
    }

    func run() throws {
        try runReporting {
            let store = try storeOptions.openStore()
            let importer = ModelDirectoryImporter()
            for directory in directories {
                let url = URL(fileURLWithPath: directory).standardizedFileURL
                let batch = try importer.importDirectory(url, id: id)
                for warning in batch.warnings { Terminal.warning(warning) }
                let summary = try store.apply(batch, origin: "import:\(url.path)")
                let model = batch.nodes.first?.id ?? url.lastPathComponent
                print("imported \(model): \(summary.edges) edge\(summary.edges == 1 ? "" : "s")\(summary.warnings.isEmpty ? "" : ", \(summary.warnings.count) warning\(summary.warnings.count == 1 ? "" : "s")")")
            }
        }
    }
}
