import Foundation
import Testing

/// `lineage import`, `show` and the queries, on model folders made by the tests.
@Suite struct ImportCLITests {
    func modelFolder(_ cli: CLI, _ name: String, readme: String) throws -> URL {
        try cli.write(readme, to: "models/\(name)/README.md").deletingLastPathComponent()
    }

    /// The database's contents, to prove a refused import changed nothing.
    func snapshot(_ cli: CLI) throws -> Data {
        try cli.run(["export", "--format", "json"]).stdoutBytes
    }

    @Test func anImportedFineTuneLandsUnderItsCatalogBaseAndFailsTheLicenseCheck() throws {
        let cli = try CLI()
        let folder = try modelFolder(cli, "apache-llama", readme: """
            ---
            license: apache-2.0
            base_model: meta-llama/Llama-2-7b-hf
            datasets: [someone/chat-data]
            ---
            An Apache-2.0 fine-tune of Llama 2, which its license does not allow.
            """)
        let imported = try cli.run(["import", folder.path, "--id", "someone/apache-llama"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout == "imported someone/apache-llama: 2 edges\n")
        let show = try cli.run(["show", "someone/apache-llama"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("finetune of llama-2-7b (Llama 2 7B)  [declared, 0.9]"))
        #expect(show.stdout.contains("CONFLICT: someone/apache-llama declares apache-2.0 but derives from llama-2-7b (llama2), whose terms bind derivatives"))
        let parent = try cli.run(["show", "llama-2-7b"])
        #expect(parent.stdout.contains("someone/apache-llama (apache-llama) (finetune, declared)"))
        #expect(parent.stdout.contains("license check:\n  ok: llama2"))
        let licenses = try cli.run(["licenses"])
        #expect(licenses.status == 1)
        #expect(licenses.stdout.contains("conflict: someone/apache-llama declares apache-2.0"))
        let ancestors = try cli.run(["ancestors", "someone/apache-llama"])
        #expect(ancestors.stdout.hasPrefix("llama-2-7b (Llama 2 7B)\n") || ancestors.stdout.hasPrefix("datasets/someone/chat-data"))
        #expect(ancestors.stdout.contains("llama-7b (LLaMA 7B)"))
        let path = try cli.run(["path", "someone/apache-llama", "vicuna-7b-v1-5"])
        #expect(path.status == 0, "\(path.stderr)")
        #expect(path.stdout == """
            someone/apache-llama (apache-llama)
              <- finetune of llama-2-7b (Llama 2 7B)
              -> chat -> vicuna-7b-v1-5 (Vicuna 7B v1.5)

            """)
        // LLaMA 13B and Llama 2 7B are separate pretraining runs: no shared ancestor.
        let unrelated = try cli.run(["path", "someone/apache-llama", "taiwan-llama-v1-0"])
        #expect(unrelated.status == 1)
        #expect(unrelated.stderr == "lineage: error: someone/apache-llama (apache-llama) and taiwan-llama-v1-0 (Taiwan-LLaMa v1.0) share no ancestor\n")
    }

    @Test func malformedFrontMatterIsAnErrorAndTheDatabaseIsUnchanged() throws {
        let cli = try CLI()
        let before = try snapshot(cli)
        let folder = try modelFolder(cli, "broken", readme: "---\nlicense: mit\nbase_model: [a/b\n---\n")
        let result = try cli.run(["import", folder.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(folder.path)/README.md:"))
        #expect(result.stderr.contains("malformed YAML"))
        #expect(try snapshot(cli) == before)
    }

    @Test func malformedJSONIsAnErrorWithItsLine() throws {
        let cli = try CLI()
        let before = try snapshot(cli)
        let folder = try cli.write("{\n \"base_model_name_or_path\": \"a/b\",\n \"r\": 8,,\n}", to: "models/lora/adapter_config.json")
            .deletingLastPathComponent()
        let result = try cli.run(["import", folder.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("adapter_config.json:3: malformed JSON"))
        #expect(try snapshot(cli) == before)
    }

    @Test func anUnknownRelationListsTheAllowedOnes() throws {
        let cli = try CLI()
        let folder = try modelFolder(cli, "weird", readme: "---\nbase_model: a/b\nbase_model_relation: sibling\n---\n")
        let result = try cli.run(["import", folder.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("README.md:3: base_model_relation: unknown relation 'sibling' (allowed: finetune, instruct, chat, continued-pretrain, adapter, merge, quantized, distill, weight-delta, reproduction, architecture, successor, trained-on)"))
    }

    @Test func aCycleIsRefusedWithTheCyclePrintedAndNothingChanges() throws {
        let cli = try CLI()
        let first = try modelFolder(cli, "a", readme: "---\nbase_model: org/b\n---\n")
        #expect(try cli.run(["import", first.path, "--id", "org/a"]).status == 0)
        let before = try snapshot(cli)
        let second = try modelFolder(cli, "b", readme: "---\nbase_model: org/a\nlicense: mit\n---\n")
        let result = try cli.run(["import", second.path, "--id", "org/b"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("would make a cycle"))
        #expect(result.stderr.contains("org/a -> org/b -> org/a") || result.stderr.contains("org/b -> org/a -> org/b"))
        #expect(try snapshot(cli) == before)
    }

    @Test func aLocalPathAsBaseModelWarnsAndMakesNoNode() throws {
        let cli = try CLI()
        let folder = try modelFolder(cli, "local", readme: "---\nbase_model: /workspace/out/checkpoint-9\nlicense: mit\n---\n")
        let result = try cli.run(["import", folder.path, "--id", "me/local"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("lineage: warning: "))
        #expect(result.stderr.contains("'/workspace/out/checkpoint-9' is a local path, not a Hub repo id; no node made for it"))
        #expect(result.stdout == "imported me/local: 0 edges, 1 warning\n")
        let json = try cli.run(["export", "--format", "json"]).stdout
        #expect(json.contains("\"me/local\""))
        #expect(!json.contains("checkpoint-9"))
    }

    @Test func queriesAnswerForCatalogModels() throws {
        let cli = try CLI()
        let descendants = try cli.run(["descendants", "bloom-7b1", "--depth", "1"])
        #expect(descendants.status == 0)
        #expect(descendants.stdout.contains("ffm-bloom-7b"))
        #expect(descendants.stdout.contains("bloomz-7b1"))
        let family = try cli.run(["family", "vicuna-7b-v1-5"])
        #expect(family.stdout.hasPrefix("Vicuna"))
        #expect(family.stdout.contains("vicuna-13b-v1-5"))
        let unknown = try cli.run(["show", "no-such-model"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no model or dataset 'no-such-model'"))
        let phi = try cli.run(["show", "microsoft/phi-1"])
        #expect(phi.stdout.contains("parameters: the survey says 1.1B; in fact 1.3B"))
    }
}
