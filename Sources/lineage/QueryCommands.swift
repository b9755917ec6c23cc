import ArgumentParser
import LineageGraph

struct AncestorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ancestors", abstract: "List what a model derives from, nearest first.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "A catalog id, Hub repo id or name.") var model: String
    @Option(help: "Follow at most this many edges.") var depth: Int?

    func run() throws {
        try runReporting {
            let graph = try storeOptions.loadGraph()
            for node in graph.ancestors(of: try graph.require(model), depth: depth) { print(graph.label(node)) }
        }
    }
}

struct DescendantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "descendants", abstract: "List what derives from a model, nearest first.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "A catalog id, Hub repo id or name.") var model: String
    @Option(help: "Follow at most this many edges.") var depth: Int?

    func run() throws {
        try runReporting {
            let graph = try storeOptions.loadGraph()
            for node in graph.descendants(of: try graph.require(model), depth: depth) { print(graph.label(node)) }
        }
    }
}

struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "The chain of derivations between two models (through their nearest common ancestor when neither descends from the other).")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "From this model.") var from: String
    @Argument(help: "To this model.") var to: String

    func run() throws {
        try runReporting {
            let graph = try storeOptions.loadGraph()
            let source = try graph.require(from)
            let target = try graph.require(to)
            guard let steps = graph.path(from: source, to: target) else {
                throw CommandFailure("\(graph.label(source)) and \(graph.label(target)) share no ancestor")
            }
            for step in steps {
                guard let edgeIndex = step.edge else {
                    print(graph.label(step.node))
                    continue
                }
                let relation = graph.edges[Int(edgeIndex)].relation.rawValue
                print(step.forward ? "  -> \(relation) -> \(graph.label(step.node))" : "  <- \(relation) of \(graph.label(step.node))")
            }
        }
    }
}

struct FamilyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "family", abstract: "List a family's models (give a family id or one of its models).")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "A family id, or a model whose family to list.") var name: String

    func run() throws {
        try runReporting {
            let graph = try storeOptions.loadGraph()
            let familyID: String
            if graph.families.contains(where: { $0.id == name }) {
                familyID = name
            } else {
                let node = graph.nodes[Int(try graph.require(name))]
                guard let family = node.family else { throw CommandFailure("\(node.id) belongs to no family") }
                familyID = family
            }
            let family = graph.families.first { $0.id == familyID }
            print("\(family?.name ?? familyID)  [\(familyID)]\(family?.organization.map { "  \($0)" } ?? "")")
            for (position, node) in graph.nodes.enumerated() where node.family == familyID {
                let parents = graph.incomingEdges(of: Int32(position)).map { edge in
                    "\(graph.edges[Int(edge)].relation.rawValue) of \(graph.edges[Int(edge)].parent)"
                }
                print("  \(graph.label(Int32(position)))\(parents.isEmpty ? "" : "  <- " + parents.joined(separator: ", "))")
            }
        }
    }
}

struct LicensesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "licenses",
        abstract: "Check every model's license against its bases; exits 1 when a conflict is found.")
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        try runReporting {
            let graph = try storeOptions.loadGraph()
            let findings = graph.licenseFindings()
            for finding in findings { print("\(finding.severity.rawValue): \(finding.message)") }
            let conflicts = findings.filter { $0.severity == .conflict }.count
            print("\(conflicts) conflicts, \(findings.count - conflicts) warnings in \(graph.nodes.count) nodes")
            if conflicts > 0 { throw ExitCode.failure }
        }
    }
}
