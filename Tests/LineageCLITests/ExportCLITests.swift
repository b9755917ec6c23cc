import Foundation
import Testing

/// `lineage export` and `lineage render` against the real Graphviz and networkx.
@Suite struct ExportCLITests {
    /// A catalog whose names try to break every format.
    static let hostileCatalog = """
        family: end
        name: "subgraph \\"cluster\\" \\\\ <b>&amp;</b>"
        models:
          - id: graph
            name: "台灣 \\"LLaMA\\" \\\\ v2"
            license: llama2
            notes: "bell\\a, tab\\t, newline\\n, <xml> & \\"quotes\\" \\\\N"
          - id: end
            name: "end"
            parents:
              - id: graph
                relation: finetune
                evidence: "a \\"quoted\\" \\\\ evidence <&> \\\\l"
          - id: strict
            name: "\\\\"
            parents: [{id: end, relation: merge}, {id: node, relation: merge}]
          - id: node
            name: "#35; %% ;; --> |x|"
        """

    func exportAll(_ cli: CLI, extraArguments: [String] = []) throws -> [String: URL] {
        var files: [String: URL] = [:]
        for format in ["dot", "json", "tree-json", "graphml", "mermaid"] {
            let file = cli.scratch.appendingPathComponent("export.\(format)")
            let result = try cli.run(["export", "--format", format, "-o", file.path] + extraArguments)
            #expect(result.status == 0, "\(format): \(result.stderr)")
            files[format] = file
        }
        return files
    }

    func checkWithRealTools(_ cli: CLI, _ files: [String: URL], nodes: Int, edges: Int) throws {
        let svg = try cli.tool("dot", ["-Tsvg", files["dot"]!.path])
        #expect(svg.status == 0, "dot rejected the export: \(svg.stderr)")
        #expect(svg.stdout.contains("<svg"))
        #expect(!svg.stderr.contains("Warning"), "dot warned: \(svg.stderr)")
        let networkx = try cli.python("check_networkx.py", [files["json"]!.path, files["graphml"]!.path])
        #expect(networkx.status == 0, "networkx: \(networkx.stdout) \(networkx.stderr)")
        #expect(networkx.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "nodes=\(nodes) edges=\(edges)")
    }

    @Test func theSeedCatalogExportsOnAFreshMachineFromAnyDirectory() throws {
        let cli = try CLI()
        #expect(!FileManager.default.fileExists(atPath: cli.store.path))
        let files = try exportAll(cli)
        #expect(FileManager.default.fileExists(atPath: cli.store.appendingPathComponent("lineage.sqlite").path))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: files["json"]!)) as! [String: Any]
        let nodes = json["nodes"] as! [[String: Any]]
        let edges = json["edges"] as! [[String: Any]]
        #expect(nodes.count > 130)
        #expect(nodes.contains { $0["id"] as? String == "taiwan-llama-v1-0" && $0["family"] as? String == "taiwan-llama" })
        #expect(edges.allSatisfy { ["source", "target", "relation", "provenance", "confidence"].allSatisfy($0.keys.contains) })
        try checkWithRealTools(cli, files, nodes: nodes.count, edges: edges.count)
        let dot = try String(contentsOf: files["dot"]!, encoding: .utf8)
        #expect(dot.contains(#"subgraph "cluster_taiwan-llama""#))
    }

    @Test func hostileNamesSurviveEveryFormat() throws {
        let cli = try CLI()
        let catalog = try cli.write(Self.hostileCatalog, to: "catalog/end.yaml")
        let files = try exportAll(cli, extraArguments: ["--catalog", catalog.deletingLastPathComponent().path])
        try checkWithRealTools(cli, files, nodes: 4, edges: 3)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: files["json"]!)) as! [String: Any]
        let names = Set((json["nodes"] as! [[String: Any]]).compactMap { $0["name"] as? String })
        #expect(names == ["台灣 \"LLaMA\" \\ v2", "end", "\\", "#35; %% ;; --> |x|"])
        let mermaid = try String(contentsOf: files["mermaid"]!, encoding: .utf8)
        #expect(mermaid.contains("台灣 #quot;LLaMA#quot; \\ v2"))
        #expect(!mermaid.contains("\"LLaMA\""))
        // The same names come back out of Graphviz's own rendering.
        let svg = try cli.tool("dot", ["-Tsvg", files["dot"]!.path])
        #expect(svg.stdout.contains("台灣 &quot;LLaMA&quot; \\ v2"))
    }

    @Test func rootFamilyAndDepthSelectParts() throws {
        let cli = try CLI()
        func ids(_ arguments: [String]) throws -> Set<String> {
            let result = try cli.run(["export", "--format", "json"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
            let json = try JSONSerialization.jsonObject(with: result.stdoutBytes) as! [String: Any]
            return Set((json["nodes"] as! [[String: Any]]).map { $0["id"] as! String })
        }
        let children = try ids(["--root", "llama-2-13b", "--depth", "1"])
        #expect(children.contains("llama-2-13b") && children.contains("llama-2-13b-chat") && children.contains("taiwan-llama-v1-0"))
        #expect(!children.contains("llama-2-7b"))
        let deeper = try ids(["--root", "meta-llama/Llama-2-13b-hf"])
        #expect(deeper.isSuperset(of: children))
        let vicuna = try ids(["--family", "vicuna"])
        #expect(vicuna.contains("vicuna-7b-v1-5") && vicuna.contains("llama-2-7b"))
        #expect(!vicuna.contains("alpaca-7b"))
        let unknown = try cli.run(["export", "--family", "nope"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no family 'nope'; known families: "))
        let missing = try cli.run(["export", "--root", "taiwan"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no model or dataset 'taiwan'"))
        #expect(missing.stderr.contains("taiwan-llama-v1-0"))
    }

    @Test func renderWritesSVGPNGAndPDF() throws {
        let cli = try CLI()
        let magic: [String: [UInt8]] = ["png": [0x89, 0x50, 0x4E, 0x47], "pdf": Array("%PDF".utf8)]
        for format in ["svg", "png", "pdf"] {
            let output = cli.scratch.appendingPathComponent("tree.\(format)")
            let result = try cli.run(["render", "-o", output.path, "--family", "taiwan-llama"])
            #expect(result.status == 0, "\(result.stderr)")
            let data = try Data(contentsOf: output)
            if let expected = magic[format] { #expect(Array(data.prefix(4)) == expected) } else {
                #expect(String(decoding: data, as: UTF8.self).contains("<svg"))
                #expect(String(decoding: data, as: UTF8.self).contains("Taiwan"))
            }
        }
    }

    @Test func renderWithoutGraphvizSaysHowToInstallIt() throws {
        let cli = try CLI()
        let output = cli.scratch.appendingPathComponent("tree.svg")
        let result = try cli.run(["render", "-o", output.path], environment: ["PATH": cli.scratch.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("Graphviz's `dot` is not on PATH"))
        #expect(result.stderr.contains("sudo apt-get install graphviz"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
        let badExtension = try cli.run(["render", "-o", cli.scratch.appendingPathComponent("tree.gif").path])
        #expect(badExtension.status != 0)
        #expect(badExtension.stderr.contains("name it .svg, .png or .pdf"))
    }

    @Test func theStoreComesFromTheFlagTheEnvironmentOrXDG() throws {
        let cli = try CLI()
        let home = cli.scratch.appendingPathComponent("home")
        let viaHome = try cli.run(["export", "--format", "mermaid"], environment: ["LINEAGE_STORE": nil, "XDG_DATA_HOME": nil, "HOME": home.path])
        #expect(viaHome.status == 0, "\(viaHome.stderr)")
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent(".local/share/lineage/lineage.sqlite").path))
        let flag = cli.scratch.appendingPathComponent("flagged")
        #expect(try cli.run(["export", "--store", flag.path]).status == 0)
        #expect(FileManager.default.fileExists(atPath: flag.appendingPathComponent("lineage.sqlite").path))
    }

    @Test func aChangedCatalogIsReloaded() throws {
        let cli = try CLI()
        let file = try cli.write("family: f\nmodels:\n  - id: one\n", to: "catalog/f.yaml")
        let directory = file.deletingLastPathComponent().path
        #expect(try cli.run(["export", "--format", "json", "--catalog", directory]).stdout.contains("\"one\""))
        _ = try cli.write("family: f\nmodels:\n  - id: two\n", to: "catalog/f.yaml")
        let after = try cli.run(["export", "--format", "json", "--catalog", directory])
        #expect(after.stdout.contains("\"two\"") && !after.stdout.contains("\"one\""))
        // A broken catalog is refused with its location, and the store keeps the last good one.
        _ = try cli.write("family: f\nmodels:\n  - id: three\n    relation: x\n", to: "catalog/f.yaml")
        let broken = try cli.run(["export", "--format", "json", "--catalog", directory])
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("f.yaml:4: models[0].relation: unknown key 'relation'"))
        let kept = try cli.tool("sqlite3", [cli.store.appendingPathComponent("lineage.sqlite").path, "SELECT id FROM node ORDER BY id"])
        #expect(kept.stdout == "two\n")
        let check = try cli.run(["catalog", directory])
        #expect(check.status != 0)
        #expect(try cli.run(["export", "--format", "json", "--catalog", cli.scratch.path + "/nothing"]).status != 0)
        #expect(try cli.run(["catalog"]).stdout.hasPrefix("catalog ok: "))
    }
}
