import Foundation
import LineageTestSupport
import GGUF
import LineageGraph
@testable import LineageImport
import Testing

/// A throwaway model repository folder.
struct ModelFolder {
    let url: URL

    init(_ name: String = "model", files: [String: String]) throws {
        url = TestSupport.scratchURL("lineage-import").appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (path, text) in files {
            try Data(text.utf8).write(to: url.appendingPathComponent(path))
        }
    }
}

@Suite struct ModelDirectoryImporterTests {
    let importer = ModelDirectoryImporter()

    @Test func cardFrontMatterDeclaresBasesLicenseAndDatasets() throws {
        let folder = try ModelFolder("taiwan-tune", files: ["README.md": """
            ---
            license: llama2
            base_model: meta-llama/Llama-2-7b-hf
            datasets:
              - yentinglin/zh_TW_c4
            language: [zh, en]
            ---
            # A model
            """])
        let batch = try importer.importDirectory(folder.url)
        let node = try #require(batch.nodes.first)
        #expect(node.id == "taiwan-tune")
        #expect(node.license == "llama2")
        #expect(node.kind == .finetuned)
        #expect(node.facts["language"] == "zh, en")
        let base = try #require(batch.edges.first { $0.parent == "meta-llama/Llama-2-7b-hf" })
        #expect(base.relation == .finetune)
        #expect(base.provenance == .declared)
        #expect(base.confidence == 0.9)
        #expect(base.evidence.hasPrefix("\(folder.url.path)/README.md:3: base_model"))
        #expect(batch.edges.contains { $0.parent == "datasets/yentinglin/zh_TW_c4" && $0.relation == .trainedOn })
        #expect(batch.referencedNodes.map(\.id).contains("meta-llama/Llama-2-7b-hf"))
    }

    @Test func severalBasesMakeAMergeAndAStatedRelationWins() throws {
        let merge = try ModelFolder(files: ["README.md": "---\nbase_model:\n  - a/one\n  - b/two\n---\n"])
        let merged = try importer.importDirectory(merge.url, id: "me/merged")
        #expect(merged.edges.map(\.relation) == [.merge, .merge])
        #expect(merged.nodes.first?.kind == .merge)
        let stated = try ModelFolder(files: ["README.md": "---\nbase_model: a/one\nbase_model_relation: quantized\n---\n"])
        let quantized = try importer.importDirectory(stated.url, id: "me/q")
        #expect(quantized.edges.map(\.relation) == [.quantized])
        #expect(quantized.edges.first?.confidence == 1.0)
        #expect(quantized.nodes.first?.kind == .quantized)
    }

    @Test func localPathAsBaseModelIsAWarningAndNoNode() throws {
        let folder = try ModelFolder(files: ["README.md": "---\nbase_model: /workspace/output/checkpoint-500\n---\n"])
        let batch = try importer.importDirectory(folder.url)
        #expect(batch.edges.isEmpty)
        #expect(batch.referencedNodes.isEmpty)
        #expect(batch.warnings.count == 1)
        #expect(batch.warnings[0].contains("'/workspace/output/checkpoint-500' is a local path, not a Hub repo id; no node made for it"))
        #expect(batch.warnings[0].contains("README.md:2: base_model"))
    }

    @Test func unknownRelationInACardListsTheAllowedOnes() throws {
        let folder = try ModelFolder(files: ["README.md": "---\nbase_model: a/b\nbase_model_relation: copy\n---\n"])
        #expect {
            try importer.importDirectory(folder.url)
        } throws: { error in
            let error = error as! ImportError
            return error.line == 3 && error.field == "base_model_relation"
                && error.message == "unknown relation 'copy' (allowed: \(Relation.allNames))"
        }
    }

    @Test func malformedFrontMatterNamesTheLineInTheFile() throws {
        let folder = try ModelFolder(files: ["README.md": "---\nlicense: mit\nbase_model: [a/b\n---\ntext\n"])
        #expect {
            try importer.importDirectory(folder.url)
        } throws: { error in
            let error = error as! ImportError
            return error.file.hasSuffix("README.md") && error.message.hasPrefix("malformed YAML") && (error.line ?? 0) >= 3
        }
    }

    @Test func adapterConfigMakesAnAdapterEdge() throws {
        let folder = try ModelFolder(files: ["adapter_config.json": """
            {"base_model_name_or_path": "meta-llama/Llama-2-7b-hf", "peft_type": "LORA", "r": 16}
            """])
        let batch = try importer.importDirectory(folder.url, id: "me/lora")
        #expect(batch.edges.map(\.relation) == [.adapter])
        #expect(batch.edges.first?.evidence.hasSuffix("adapter_config.json: base_model_name_or_path") == true)
        #expect(batch.nodes.first?.kind == .adapter)
        #expect(batch.nodes.first?.facts["adapter.peft_type"] == "LORA")
        #expect(batch.nodes.first?.facts["adapter.r"] == "16")
    }

    @Test func configNameOrPathIsOnlyAWeakHint() throws {
        let hinted = try ModelFolder(files: ["config.json": """
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "max_position_embeddings": 4096,
             "_name_or_path": "meta-llama/Llama-2-7b-hf"}
            """])
        let batch = try importer.importDirectory(hinted.url, id: "me/tune")
        #expect(batch.nodes.first?.architecture == "llama")
        #expect(batch.nodes.first?.contextLength == 4096)
        let edge = try #require(batch.edges.first)
        #expect(edge.provenance == .inferred)
        #expect(edge.confidence == 0.3)
        // A declared base makes the hint moot; a local path is no hint at all.
        let declared = try ModelFolder(files: [
            "config.json": #"{"_name_or_path": "someone/else"}"#,
            "README.md": "---\nbase_model: a/b\n---\n",
        ])
        #expect(try importer.importDirectory(declared.url, id: "me/x").edges.map(\.parent) == ["a/b"])
        let local = try ModelFolder(files: ["config.json": #"{"_name_or_path": "/tmp/out"}"#])
        #expect(try importer.importDirectory(local.url, id: "me/y").edges.isEmpty)
    }

    @Test func malformedJSONNamesFileAndLine() throws {
        let folder = try ModelFolder(files: ["config.json": "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": ,\n}\n"])
        #expect {
            try importer.importDirectory(folder.url)
        } throws: { error in
            let error = error as! ImportError
            return error.file.hasSuffix("config.json") && error.message.hasPrefix("malformed JSON") && error.line == 3
        }
    }

    @Test func wrongTypeInAdapterConfigNamesTheField() throws {
        let folder = try ModelFolder(files: ["adapter_config.json": #"{"base_model_name_or_path": 7}"#])
        #expect {
            try importer.importDirectory(folder.url)
        } throws: { error in
            let error = error as! ImportError
            return error.field == "base_model_name_or_path" && error.message.contains("expected a string")
        }
    }

    @Test func ggufMetadataDeclaresSourceAndBases() throws {
        let folder = try ModelFolder(files: [:])
        let writer = try GGUFWriter(url: folder.url.appendingPathComponent("taiwan-llama-Q4_K_M.gguf"), keyValues: [
            ("general.architecture", .string("llama")),
            ("general.license", .string("llama2")),
            ("general.source.repo_url", .string("https://huggingface.co/yentinglin/Taiwan-LLaMa-v1.0")),
            ("general.base_model.count", .uint32(1)),
            ("general.base_model.0.name", .string("Llama 2 13b hf")),
            ("general.base_model.0.organization", .string("Meta Llama")),
            ("general.base_model.0.repo_url", .string("https://huggingface.co/meta-llama/Llama-2-13b-hf")),
        ], tensors: [GGUFTensorDescriptor(name: "output_norm.weight", dimensions: [4], type: .f32)])
        try writer.writeTensorData(Data(count: 16))
        try writer.finish()
        let batch = try importer.importDirectory(folder.url, id: "someone/Taiwan-LLaMa-GGUF")
        #expect(batch.nodes.first?.kind == .quantized)
        #expect(batch.nodes.first?.license == "llama2")
        #expect(batch.nodes.first?.architecture == "llama")
        let source = try #require(batch.edges.first { $0.parent == "yentinglin/Taiwan-LLaMa-v1.0" })
        #expect(source.relation == .quantized)
        #expect(source.evidence.hasSuffix("taiwan-llama-Q4_K_M.gguf: general.source.repo_url"))
        #expect(batch.edges.contains { $0.parent == "meta-llama/Llama-2-13b-hf" && $0.provenance == .declared })
    }

    @Test func aBrokenGGUFNamesTheFile() throws {
        let folder = try ModelFolder(files: ["bad.gguf": "GGUF but not really"])
        #expect {
            try importer.importDirectory(folder.url)
        } throws: { error in
            let error = error as! ImportError
            return error.file.hasSuffix("bad.gguf") && error.message.hasPrefix("not a readable GGUF file")
        }
    }

    @Test func hubCachePathsNameTheRepo() {
        let url = URL(fileURLWithPath: "/cache/hub/models--lmsys--vicuna-7b-v1.5/snapshots/abc123")
        #expect(ModelDirectoryImporter.defaultID(for: url) == "lmsys/vicuna-7b-v1.5")
        #expect(ModelDirectoryImporter.defaultID(for: URL(fileURLWithPath: "/x/my-model")) == "my-model")
    }

    @Test func referencesAreClassified() {
        #expect(ModelReference("meta-llama/Llama-2-7b-hf") == .hub("meta-llama/Llama-2-7b-hf"))
        #expect(ModelReference("gpt2") == .hub("gpt2"))
        #expect(ModelReference("https://huggingface.co/org/name") == .hub("org/name"))
        #expect(ModelReference("/workspace/out") == .localPath("/workspace/out"))
        #expect(ModelReference("./ckpt") == .localPath("./ckpt"))
        #expect(ModelReference("C:\\models\\x") == .localPath("C:\\models\\x"))
        #expect(ModelReference("out/checkpoint/final") == .localPath("out/checkpoint/final"))
        #expect(ModelReference("not a repo") == .invalid("not a repo"))
        // The Hub's own rule (huggingface_hub's validate_repo_id), the same one mirrored repos follow.
        for notHub in ["org/name-", "org/-name", "org/a--b", "org/a..b", "org/name.git"] {
            #expect(ModelReference(notHub) == .invalid(notHub))
        }
    }
}
