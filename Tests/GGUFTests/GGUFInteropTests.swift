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
