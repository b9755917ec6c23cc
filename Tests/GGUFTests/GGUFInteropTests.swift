import LineageTestSupport
import Foundation
import Testing
@testable import GGUF

/// gguf-py (the reference Python implementation) and lineage must agree on every byte.
@Suite("GGUF interop with gguf-py")
struct GGUFInteropTests {
    @Test("gguf-py reads what lineage writes: names, shapes, types, offsets, data, every value")
    func ggufPyReadsOurFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ours.gguf")
        let written = try writeSampleFile(to: url)

        let reference = try TestSupport.runPythonJSON("gguf_dump.py", [url.path])
        let metadata = try GGUFReader.readMetadata(contentsOf: url)
        GGUFReferenceComparison.assertMatches(metadata, reference: reference)
        // Also compare against what we meant to write, not only against our own reader.
        let refKeys = (reference["kv"] as! [[String: Any]]).map { $0["key"] as! String }
        #expect(refKeys == everyTypeKeyValues.map(\.key))
        let refData = (reference["tensors"] as! [[String: Any]]).map { $0["data_hex"] as! String }
        #expect(refData == written.map { TestSupport.hex($0) })
    }

    @Test("lineage reads a file gguf-py's GGUFWriter wrote")
    func weReadGGUFPyFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("theirs.gguf")
        _ = try TestSupport.runPython("gguf_write_sample.py", [url.path])

        let metadata = try GGUFReader.readMetadata(contentsOf: url)
        let reference = try TestSupport.runPythonJSON("gguf_dump.py", [url.path])
        GGUFReferenceComparison.assertMatches(metadata, reference: reference)
        #expect(metadata["general.architecture"]?.stringValue == "llama")
        #expect(metadata["test.string"]?.stringValue == "héllo wörld ✓")
        #expect(metadata["test.f32"] == .float32(0.1))
        #expect(metadata["test.u64"] == .uint64(18_000_000_000_000_000_000))
        #expect(metadata.tensor(named: "blk.0.attn_q.weight")?.type == .q8_0)
        #expect(metadata.tensor(named: "token_embd.weight")?.dimensions == [8, 3])
    }
}

/// llama.cpp's own GGUF loader (gguf_init_from_file in libggml-base, through ctypes) must
/// accept what we write: it is stricter than gguf-py about value types and offsets.
@Suite("GGUF interop with llama.cpp's loader")
struct GGUFLlamaCppLoaderTests {
    static var ggmlAvailable: Bool {
        (try? TestSupport.runPython("ggml_quantize.py", ["version"])) != nil
    }

    @Test("gguf_init_from_file loads our file with the same keys, tensors and offsets", .enabled(if: ggmlAvailable))
    func ggmlLoadsOurFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ours.gguf")
        try writeSampleFile(to: url, alignment: 64)
        let info = try TestSupport.runPythonJSON("ggml_quantize.py", ["gguf-info", url.path])
        #expect(info["loaded"] as? Bool == true)
        let metadata = try GGUFReader.readMetadata(contentsOf: url)
        #expect((info["alignment"] as? Int) == 64)
        #expect((info["data_offset"] as? Int).map(UInt64.init) == metadata.dataOffset)
        let kv = info["kv"] as! [[Any]]
        #expect(kv.map { $0[0] as! String } == metadata.keyValues.map(\.key))
        #expect(kv.map { UInt32($0[1] as! Int) } == metadata.keyValues.map(\.value.type.rawValue))
        let tensors = info["tensors"] as! [[Any]]
        #expect(tensors.map { $0[0] as! String } == metadata.tensors.map(\.name))
        #expect(tensors.map { UInt64($0[2] as! Int) } == metadata.tensors.map(\.offset))
        #expect(tensors.map { UInt64($0[3] as! Int) } == metadata.tensors.map(\.byteCount))
    }
}
