import Foundation
import LineageGraph
@testable import LineageImport
import Testing

@Suite struct CatalogLoaderTests {
    let family = """
        family: demo
        name: Demo
        organization: Demo Lab
        models:
          - id: base-7b
            name: Base 7B
            hub: [demo/base-7b]
            released: 2023-07-18
            parameters: 6.7B
            size_label: 7B
            context_length: 4096
            license: llama2
            architecture: llama
            availability: open
            training:
              tokens: 2T
              hardware: 384 x A100 80GB
            languages: [en, zh]
            corrections:
              - field: parameters
                survey: 1.1B
                fact: 1.3B
                source: the paper
          - id: chat-7b
            name: Chat 7B
            parents:
              - id: base-7b
                relation: chat
                evidence: model card
            datasets: [data]
        """
    let datasets = """
        datasets:
          - id: data
            name: Data
            license: cc-by-4.0
            tokens: 5B
        """

    @Test func readsFieldsFactsEdgesAndKinds() throws {
        let catalog = try CatalogLoader.load(files: [("demo.yaml", family), ("datasets.yaml", datasets)])
        let batch = catalog.batch
        #expect(batch.families == [Family(id: "demo", name: "Demo", organization: "Demo Lab")])
        let base = try #require(batch.nodes.first { $0.id == "base-7b" })
        #expect(base.parameters == 6_700_000_000)
        #expect(base.sizeLabel == "7B")
        #expect(base.contextLength == 4096)
        #expect(base.hubIDs == ["demo/base-7b"])
        #expect(base.organization == "Demo Lab")
        #expect(base.facts["training.tokens"] == "2T")
        #expect(base.facts["languages"] == "en, zh")
        #expect(base.corrections == [Correction(field: "parameters", survey: "1.1B", fact: "1.3B", source: "the paper")])
        #expect(base.kind == .pretrained)
        let chat = try #require(batch.nodes.first { $0.id == "chat-7b" })
        #expect(chat.kind == .finetuned)
        #expect(batch.edges.contains(LineageEdge(parent: "base-7b", child: "chat-7b", relation: .chat, provenance: .curated, evidence: "model card")))
        #expect(batch.edges.contains { $0.parent == "data" && $0.child == "chat-7b" && $0.relation == .trainedOn })
        #expect(batch.nodes.first { $0.id == "data" }?.kind == .dataset)
        // The digest follows the bytes.
        let again = try CatalogLoader.load(files: [("demo.yaml", family), ("datasets.yaml", datasets)])
        let changed = try CatalogLoader.load(files: [("demo.yaml", family + "\n"), ("datasets.yaml", datasets)])
        #expect(again.digest == catalog.digest)
        #expect(changed.digest != catalog.digest)
    }

    func error(_ files: [(String, String)]) -> ImportError? {
        do {
            _ = try CatalogLoader.load(files: files)
            return nil
        } catch let error as ImportError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func malformedYAMLNamesFileAndLine() throws {
        let broken = "family: x\nmodels:\n  - id: a\n    name: [unclosed\n  - id: b\n"
        let found = try #require(error([("Graph/x.yaml", broken)]))
        #expect(found.file == "Graph/x.yaml")
        #expect(found.line != nil)
        #expect(found.description.hasPrefix("Graph/x.yaml:"))
        #expect(found.message.hasPrefix("malformed YAML"))
    }

    @Test func unknownKeyNamesTheFieldAndItsLine() throws {
        let typo = "family: x\nmodels:\n  - id: a\n    licence: mit\n"
        let found = try #require(error([("x.yaml", typo)]))
        #expect(found.line == 4)
        #expect(found.field == "models[0].licence")
        #expect(found.message.hasPrefix("unknown key 'licence' (allowed: "))
    }

    @Test func unknownRelationListsTheAllowedOnes() throws {
        let yaml = "family: x\nmodels:\n  - id: a\n  - id: b\n    parents:\n      - id: a\n        relation: sft\n"
        let found = try #require(error([("x.yaml", yaml)]))
        #expect(found.line == 7)
        #expect(found.field == "models[1].parents[0].relation")
        #expect(found.message == "unknown relation 'sft' (allowed: \(Relation.allNames))")
        #expect(found.message.contains("finetune, instruct, chat, continued-pretrain, adapter, merge, quantized, distill, weight-delta, reproduction, architecture, successor, trained-on"))
    }

    @Test func cyclesAreRefusedAndPrinted() throws {
        let yaml = """
            family: x
            models:
              - id: a
                parents: [{id: c, relation: finetune}]
              - id: b
                parents: [{id: a, relation: finetune}]
              - id: c
                parents: [{id: b, relation: finetune}]
            """
        let found = try #require(error([("x.yaml", yaml)]))
        #expect(found.message.hasPrefix("the parents form a cycle: "))
        #expect(["a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"].contains { found.message.hasSuffix($0) })
    }

    @Test func otherMistakesAreLocated() throws {
        let cases: [(String, Int?, String)] = [
            ("family: x\nmodels:\n  - id: a\n    parents: [{id: ghost, relation: finetune}]\n", 4, "'ghost' is not defined in the catalog"),
            ("family: x\nmodels:\n  - id: a\n  - id: a\n", 4, "id 'a' is already defined at x.yaml:3"),
            ("family: x\nmodels:\n  - id: a\n    released: 2023-13-01\n", 4, "expected a date YYYY-MM-DD or YYYY-MM"),
            ("family: x\nmodels:\n  - id: a\n    parameters: lots\n", 4, "expected a count like 6.7B"),
            ("family: x\nmodels:\n  - id: a\n    license: wtfpl\n", 4, "unknown license 'wtfpl'"),
            ("family: x\nmodels:\n  - id: A b\n", 3, "is not a catalog id"),
            ("family: x\nmodels:\n  - id: a\n    hub: [/data/out]\n", 4, "is not a Hugging Face repo id"),
            ("family: x\nmodels:\n  - id: a\n    context_length: long\n", 4, "expected a whole number"),
        ]
        for (yaml, line, message) in cases {
            let found = try #require(error([("x.yaml", yaml)]), "\(yaml)")
            #expect(found.line == line, "\(found)")
            #expect(found.message.contains(message), "\(found)")
        }
    }

    @Test func sizeLabelsParse() {
        #expect(SizeLabel.parameterCount("560M") == 560_000_000)
        #expect(SizeLabel.parameterCount("1.1B") == 1_100_000_000)
        #expect(SizeLabel.parameterCount("3T") == 3_000_000_000_000)
        #expect(SizeLabel.parameterCount("125") == 125)
        #expect(SizeLabel.parameterCount("B") == nil)
        #expect(SizeLabel.parameterCount("-1B") == nil)
    }
}
