import ArgumentParser
import Foundation
import LineageCatalogData
import LineageGraph
import LineageImport
import LineageStore

/// Options every command that reads the graph takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory.", valueName: "dir"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("Use this catalog directory instead of the built-in one (also $LINEAGE_CATALOG).", valueName: "dir"))
    var catalog: String?

    /// Opens the store, (re)loading the catalog when it is new or changed.
    func openStore() throws -> LineageStore {
        let location = StoreLocation.resolve(explicit: store)
        let store = try LineageStore(directory: location)
        let catalog = try loadCatalog()
        if try store.catalogDigest() != catalog.digest {
            try store.replaceCatalog(with: catalog.batch, digest: catalog.digest, fileCount: catalog.fileCount)
        }
        return store
    }

    func loadCatalog() throws -> Catalog {
        if let directory = catalog ?? ProcessInfo.processInfo.environment["LINEAGE_CATALOG"], !directory.isEmpty {
            return try CatalogLoader.load(directory: URL(fileURLWithPath: directory))
        }
        return try CatalogLoader.load(files: EmbeddedCatalog.files.map { ("Graph/\($0.name)", $0.text) })
    }

    func loadGraph() throws -> LineageGraph { try openStore().loadGraph() }
}

/// Reports a failure the user can act on and exits non-zero, instead of a stack trace.
func runReporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        Terminal.error("\(error)")
        throw ExitCode.failure
    }
}

/// A failure to report as `lineage: error: ...` with exit code 1 (not a usage error).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("lineage: error: \(message)\n".utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("lineage: warning: \(message)\n".utf8))
    }
}

extension LineageGraph {
    /// Resolves a model reference or fails with the closest names.
    func require(_ reference: String) throws -> Int32 {
        if let found = lookup(reference) { return found }
        let lowered = reference.lowercased()
        let suggestions = nodes.filter { $0.id.lowercased().contains(lowered) || $0.name.lowercased().contains(lowered) }
            .prefix(8).map(\.id)
        var message = "no model or dataset '\(reference)' in the graph"
        if !suggestions.isEmpty { message += "; did you mean: \(suggestions.joined(separator: ", "))?" }
        else { message += "; `lineage export --format json` lists every id" }
        throw CommandFailure(message)
    }

    func label(_ node: Int32) -> String {
        let value = nodes[Int(node)]
        return value.name == value.id ? value.id : "\(value.id) (\(value.name))"
    }
}
