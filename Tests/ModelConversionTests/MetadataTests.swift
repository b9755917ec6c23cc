import LineageTestSupport
import Foundation
import Testing
@testable import ModelConversion

@Suite("provenance and hyperparameter metadata")
struct MetadataTests {
    @Test("base model ids become the names, organizations and URLs gguf-py's Metadata gives them")
    func baseModelNames() throws {
        let ids = ["meta-llama/Llama-2-7b-hf", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "lmsys/vicuna-13b-v1.5",
                   "openlm-research/open_llama_3b", "yentinglin/Taiwan-LLM-7B-v2.0-chat", "taide/Llama3-TAIDE-LX-8B-Chat-Alpha1"]
        let script = """
            import json, sys
            from gguf.metadata import Metadata
            out = []
            for i in sys.argv[1:]:
                org, name = i.split('/', 1)
                out.append([Metadata.id_to_title(name), Metadata.id_to_title(org)])
            print(json.dumps({"titles": out}))
            """
        let file = try TestSupport.temporaryDirectory().appendingPathComponent("titles.py")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        try Data(script.utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", file.path] + ids
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let reference = (try JSONSerialization.jsonObject(with: data) as! [String: Any])["titles"] as! [[String]]
        for (id, expected) in zip(ids, reference) {
            let base = LineageMetadata.BaseModel(huggingFaceID: id)
            #expect(base.name == expected[0], "\(id)")
            #expect(base.organization == expected[1], "\(id)")
            #expect(base.repoURL == "https://huggingface.co/\(id)")
        }
        #expect(LineageMetadata.BaseModel(huggingFaceID: "https://huggingface.co/meta-llama/Llama-2-7b-hf").organization == "Meta Llama")
    }

    @Test("rope scaling: linear as keys, Llama 3.1's frequency factors as rope_freqs.weight")
    func ropeScaling() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var linear = TinyLlama(hidden: 64, feedForward: 128, layers: 1, heads: 2, kvHeads: 2)
        linear.extraConfig = ["rope_scaling": ["type": "linear", "factor": 4.0]]
        let plan = try ModelConverter.plan(directory: linear.write(to: dir.appendingPathComponent("linear")), options: ConversionOptions(preset: .f16))
        #expect(plan.keyValues.contains { $0.key == "llama.rope.scaling.type" && $0.value == .string("linear") })
        #expect(plan.keyValues.contains { $0.key == "llama.rope.scaling.factor" && $0.value == .float32(4) })

        var llama31 = TinyLlama(hidden: 128, feedForward: 256, layers: 1, heads: 2, kvHeads: 1, dtype: "F32")
        llama31.ropeTheta = 500_000
        llama31.extraConfig = ["rope_scaling": ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                "high_freq_factor": 4.0, "original_max_position_embeddings": 8192]]
        let checkpoint = try llama31.write(to: dir.appendingPathComponent("llama31"))
        let plan31 = try ModelConverter.plan(directory: checkpoint, options: ConversionOptions(preset: .q8_0))
        let freqs = try #require(plan31.tensors.first { $0.name == "rope_freqs.weight" })
        #expect(freqs.dimensions == [32] && freqs.type == .f32)
        guard case .values(let factors) = freqs.source else { Issue.record("rope_freqs is not computed"); return }
        // High frequencies unscaled, the lowest scaled by the full factor, smooth in between.
        #expect(factors.first == 1 && factors.last == 8)
        #expect(zip(factors, factors.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(!plan31.keyValues.contains { $0.key.hasPrefix("llama.rope.scaling") })
        if Conversion.llamaCppAvailable {
            let (url, _) = try Conversion.run(checkpoint, .f32)
            let result = try TestSupport.runPythonJSON("llama_cpp_check.py", ["logits", url.path, checkpoint.path, "1", "5", "9"])
            #expect(result["finite"] as? Bool == true)
        }
    }

    @Test("a PyTorch pickle checkpoint is named and refused")
    func pickles() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try TinyLlama(hidden: 64, feedForward: 128, layers: 1, heads: 2, kvHeads: 2).write(to: dir.appendingPathComponent("m"))
        try FileManager.default.moveItem(at: checkpoint.appendingPathComponent("model.safetensors"),
                                         to: checkpoint.appendingPathComponent("pytorch_model.bin"))
        #expect {
            try ModelConverter.plan(directory: checkpoint, options: ConversionOptions(preset: .q8_0))
        } throws: { error in
            "\(error)".contains("pytorch_model.bin: the weights are a PyTorch pickle; lineage reads safetensors only")
        }
    }
}
