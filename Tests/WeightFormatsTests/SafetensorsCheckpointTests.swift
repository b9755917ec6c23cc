import LineageTestSupport
import Foundation
import Testing
@testable import WeightFormats

@Suite("sharded safetensors checkpoints")
struct SafetensorsCheckpointTests {
    let dir: URL

    init() throws {
        dir = try TestSupport.temporaryDirectory()
    }

    func shard(_ names: [String]) -> SafetensorsTestFile {
        var f = SafetensorsTestFile()
        f.entries = names.map { .init(name: $0, dtype: "F32", shape: [1], data: SafetensorsTestFile.f32([1])) }
        return f
    }

    func writeIndex(_ map: [String: String]) throws {
        let items = map.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        let json = "{\"metadata\": {\"total_size\": 16}, \"weight_map\": {\(items)}}"
        try Data(json.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
    }

    @Test("two shards through the index")
    func twoShards() throws {
        try shard(["model.layers.0.mlp.up_proj.weight", "model.embed_tokens.weight"]).write(to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try shard(["lm_head.weight", "model.norm.weight"]).write(to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        try writeIndex([
            "model.layers.0.mlp.up_proj.weight": "model-00001-of-00002.safetensors",
            "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
            "lm_head.weight": "model-00002-of-00002.safetensors",
            "model.norm.weight": "model-00002-of-00002.safetensors",
        ])
        let checkpoint = try SafetensorsCheckpoint.open(directory: dir)
        #expect(checkpoint.files.map { $0.url.lastPathComponent } == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        #expect(checkpoint.tensorNames == ["model.layers.0.mlp.up_proj.weight", "model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"])
        #expect(checkpoint.locate("lm_head.weight")?.file.url.lastPathComponent == "model-00002-of-00002.safetensors")
        #expect(checkpoint.locate("missing") == nil)
    }

    @Test("single model.safetensors without an index")
    func singleFile() throws {
        try shard(["a", "b"]).write(to: dir.appendingPathComponent("model.safetensors"))
        #expect(try SafetensorsCheckpoint.open(directory: dir).tensorNames == ["a", "b"])
    }

    @Test("index naming a tensor its shard lacks")
    func mismatch() throws {
        try shard(["a"]).write(to: dir.appendingPathComponent("s1.safetensors"))
        try writeIndex(["a": "s1.safetensors", "b": "s1.safetensors"])
        let e = #expect(throws: SafetensorsError.self) { _ = try SafetensorsCheckpoint.open(directory: dir) }
        #expect(e?.description == "safetensors error in \(dir.appendingPathComponent("model.safetensors.index.json").path) (tensor 'b'): weight_map puts the tensor in s1.safetensors but that shard does not hold it. the index and the shards disagree; download the checkpoint again")
    }

    @Test("missing shard, path escape, duplicate tensor")
    func badIndexes() throws {
        try writeIndex(["a": "gone.safetensors"])
        let missing = #expect(throws: SafetensorsError.self) { _ = try SafetensorsCheckpoint.open(directory: dir) }
        #expect(missing?.description == "safetensors error in \(dir.appendingPathComponent("gone.safetensors").path): shard named by model.safetensors.index.json is missing. download the missing shard")

        try writeIndex(["a": "../etc/x.safetensors"])
        let escape = #expect(throws: SafetensorsError.self) { _ = try SafetensorsCheckpoint.open(directory: dir) }
        #expect(escape?.kind == .invalidIndex)
        #expect(escape?.description.contains("weight_map names '../etc/x.safetensors', which is not a plain file name next to the index") == true)

        try shard(["a"]).write(to: dir.appendingPathComponent("s1.safetensors"))
        try shard(["a"]).write(to: dir.appendingPathComponent("s2.safetensors"))
        try writeIndex(["a": "s1.safetensors", "x": "s2.safetensors"])
        let duplicate = #expect(throws: SafetensorsError.self) { _ = try SafetensorsCheckpoint.open(directory: dir) }
        #expect(duplicate?.description.contains("(tensor 'a'): tensor also appears in s1.safetensors") == true)
    }
}
