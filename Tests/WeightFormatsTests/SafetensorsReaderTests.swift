import LineageTestSupport
import Foundation
import Testing
@testable import WeightFormats

@Suite("safetensors reader")
struct SafetensorsReaderTests {
    let dir: URL

    init() throws {
        dir = try TestSupport.temporaryDirectory()
    }

    func sample() -> SafetensorsTestFile {
        var f = SafetensorsTestFile()
        f.metadata = ["format": "pt"]
        f.entries = [
            .init(name: "model.embed_tokens.weight", dtype: "F32", shape: [2, 3],
                  data: SafetensorsTestFile.f32([1, -2, 0.5, .pi, -0.0, Float(bitPattern: 0x0001_16C2)])),
            // fp16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal)
            .init(name: "model.norm.weight", dtype: "F16", shape: [4],
                  data: SafetensorsTestFile.le([UInt16(0x3C00), 0xC000, 0x7BFF, 0x0001])),
            // bf16: 1.0, -3.0, 1e38-ish, smallest subnormal
            .init(name: "lm_head.weight", dtype: "BF16", shape: [2, 2],
                  data: SafetensorsTestFile.le([UInt16(0x3F80), 0xC040, 0x7EF0, 0x0001])),
            .init(name: "ids", dtype: "I64", shape: [1], data: SafetensorsTestFile.le([Int64(-7)])),
            .init(name: "f4pair", dtype: "F4", shape: [2], data: [0x21]),
        ]
        return f
    }

    @Test("header, metadata, shapes and exact F32/F16/BF16 rows")
    func readsSample() throws {
        let url = try sample().write(to: dir.appendingPathComponent("a.safetensors"))
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensors.map(\.name) == ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "ids", "f4pair"])
        let embed = try file.requireTensor(named: "model.embed_tokens.weight")
        #expect(embed.shape == [2, 3] && embed.rowCount == 2 && embed.rowLength == 3)
        #expect(embed.ggmlDimensions == [3, 2])

        var row = [Float](repeating: .nan, count: 3)
        try row.withUnsafeMutableBufferPointer { try file.readRow(1, of: embed, into: $0) }
        #expect(row.map(\.bitPattern) == [Float.pi, -0.0, Float(bitPattern: 0x0001_16C2)].map(\.bitPattern))

        var norm = [Float](repeating: 0, count: 4)
        try norm.withUnsafeMutableBufferPointer { try file.readRow(0, of: file.requireTensor(named: "model.norm.weight"), into: $0) }
        #expect(norm == [1, -2, 65504, Float(Float16(bitPattern: 1))])
        #expect(norm[3] == 5.9604645e-08)

        var head = [Float](repeating: 0, count: 4)
        try head.withUnsafeMutableBufferPointer {
            try file.readElements(of: file.requireTensor(named: "lm_head.weight"), from: 0, into: $0)
        }
        #expect(head.map(\.bitPattern) == [0x3F80_0000, 0xC040_0000, 0x7EF0_0000, 0x0001_0000])

        let ids = try file.requireTensor(named: "ids")
        #expect(Array(file.bytes(of: ids)) == SafetensorsTestFile.le([Int64(-7)]))
    }

    @Test("unpadded header: data unaligned to the element size still converts")
    func unalignedData() throws {
        var f = sample()
        f.padHeader = false
        f.metadata = ["x": "y1"]  // odd header length
        let url = try f.write(to: dir.appendingPathComponent("u.safetensors"))
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.dataOffset % 2 == 1)
        var row = [Float](repeating: 0, count: 3)
        try row.withUnsafeMutableBufferPointer { try file.readRow(0, of: file.requireTensor(named: "model.embed_tokens.weight"), into: $0) }
        #expect(row == [1, -2, 0.5])
    }

    @Test("conversion errors name the tensor")
    func conversionErrors() throws {
        let url = try sample().write(to: dir.appendingPathComponent("c.safetensors"))
        let file = try SafetensorsFile(contentsOf: url)
        var buffer = [Float](repeating: 0, count: 3)
        let outside = #expect(throws: SafetensorsError.self) {
            try buffer.withUnsafeMutableBufferPointer { try file.readRow(2, of: file.requireTensor(named: "model.embed_tokens.weight"), into: $0) }
        }
        #expect(outside?.description == "safetensors error in \(url.path) (tensor 'model.embed_tokens.weight'): row 2 of 2 is outside the tensor (shape [2, 3])")
        var one = [Float](repeating: 0, count: 1)
        let unsupported = #expect(throws: SafetensorsError.self) {
            try one.withUnsafeMutableBufferPointer { try file.readRow(0, of: file.requireTensor(named: "ids"), into: $0) }
        }
        #expect(unsupported?.kind == .unsupportedConversion)
        let missing = #expect(throws: SafetensorsError.self) { try file.requireTensor(named: "nope") }
        #expect(missing?.description == "safetensors error in \(url.path) (tensor 'nope'): no such tensor in this file")
    }

    @Test("the reference safetensors package reads our file and we read its file")
    func interopWithReferencePackage() throws {
        // Our file -> safetensors.safe_open
        var ours = SafetensorsTestFile()
        ours.metadata = ["format": "pt"]
        ours.entries = [
            .init(name: "w", dtype: "F32", shape: [2, 2], data: SafetensorsTestFile.f32([1.5, -2, 3, 4])),
            .init(name: "h", dtype: "F16", shape: [2], data: SafetensorsTestFile.le([UInt16(0x3C00), 0xBC00])),
        ]
        let oursURL = try ours.write(to: dir.appendingPathComponent("ours.safetensors"))
        let read: [String: Any]
        do {
            read = try TestSupport.runPythonJSON("safetensors_check.py", ["read", oursURL.path])
        } catch let failure as TestSupport.ScriptFailure where failure.description.contains("exited 3") {
            // The reference package is optional on a developer machine.
            return
        }
        #expect((read["__metadata__"] as? [String: String]) == ["format": "pt"])
        #expect((read["w"] as? [String: Any])?["values"] as? [Double] == [1.5, -2, 3, 4])
        #expect((read["h"] as? [String: Any])?["dtype"] as? String == "float16")

        // Its file -> our reader, compared with what it reads back.
        let theirsURL = dir.appendingPathComponent("theirs.safetensors")
        _ = try TestSupport.runPython("safetensors_check.py", ["write", theirsURL.path])
        let reference = try TestSupport.runPythonJSON("safetensors_check.py", ["read", theirsURL.path])
        let file = try SafetensorsFile(contentsOf: theirsURL)
        #expect(file.metadata == ["format": "pt", "note": "héllo"])
        for name in ["model.embed_tokens.weight", "model.norm.weight"] {
            let t = try file.requireTensor(named: name)
            let ref = reference[name] as! [String: Any]
            #expect(ref["shape"] as? [Int] == t.shape)
            var values = [Float](repeating: 0, count: t.elementCount)
            try values.withUnsafeMutableBufferPointer { try file.readElements(of: t, from: 0, into: $0) }
            #expect(values.map(Double.init) == ref["values"] as? [Double], "\(name)")
        }
        #expect(Set(file.tensors.map(\.name)) == Set(reference.keys.filter { $0 != "__metadata__" }))
    }
}

@Suite("safetensors header validation")
struct SafetensorsValidationTests {
    let dir: URL

    init() throws {
        dir = try TestSupport.temporaryDirectory()
    }

    func error(_ bytes: [UInt8], _ name: String = "bad.safetensors", sourceLocation: SourceLocation = #_sourceLocation) throws -> (SafetensorsError?, String) {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        let e = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) {
            _ = try SafetensorsFile(contentsOf: url)
        }
        return (e, url.path)
    }

    func twoTensors() -> SafetensorsTestFile {
        var f = SafetensorsTestFile()
        f.entries = [
            .init(name: "a", dtype: "F32", shape: [2], data: SafetensorsTestFile.f32([1, 2])),
            .init(name: "b", dtype: "F16", shape: [2], data: [0, 0x3C, 0, 0x3C]),
        ]
        return f
    }

    @Test("too small, too large, past end of file")
    func headerLength() throws {
        let (small, p1) = try error([1, 2, 3])
        #expect(small?.description == "safetensors error in \(p1): file is 3 bytes, too short for the 8-byte header length. the file is empty or truncated; download it again")
        let (large, p2) = try error(SafetensorsTestFile.le([UInt64(100_000_001)]) + Array("{}".utf8))
        #expect(large?.description == "safetensors error in \(p2): header length 100000001 exceeds the 100,000,000-byte limit. this is not a safetensors file, or it is corrupt")
        let (past, p3) = try error(SafetensorsTestFile.le([UInt64(64)]) + Array("{}".utf8))
        #expect(past?.description == "safetensors error in \(p3): header length 64 runs past the end of the 10-byte file. the file is truncated; download it again")
    }

    @Test("not JSON, bad __metadata__, unknown dtype, malformed entries")
    func headerContent() throws {
        let f = twoTensors()
        let (json, _) = try error(f.bytes(header: "{\"a\": "))
        #expect(json?.kind == .invalidJSON)
        let (meta, p) = try error(f.bytes(header: "{\"__metadata__\":{\"x\":1}}"))
        #expect(meta?.description == "safetensors error in \(p): __metadata__ value for 'x' is not a string. the reference library rejects this file too")
        var unknown = twoTensors()
        unknown.entries[1].dtype = "F12"
        let (dtype, p2) = try error(unknown.bytes())
        #expect(dtype?.kind == .unknownDType)
        #expect(dtype?.description.hasPrefix("safetensors error in \(p2) (tensor 'b'): unknown dtype 'F12'. known dtypes: BOOL, F4,") == true)
        let (shape, _) = try error(f.bytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}"))
        #expect(shape?.kind == .invalidTensorEntry)
        #expect(shape?.tensor == "a")
        let (offsets, _) = try error(f.bytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}"))
        #expect(offsets?.description.contains("'data_offsets' must be two non-negative integers") == true)
    }

    @Test("size must equal shape product x dtype size")
    func sizeMismatch() throws {
        var f = twoTensors()
        f.entries[0].shape = [3]
        let (e, p) = try error(f.bytes())
        #expect(e?.description == "safetensors error in \(p) (tensor 'a'): data_offsets cover 8 bytes but shape [3] of F32 needs 12. the file is corrupt")
        var sub = SafetensorsTestFile()
        sub.entries = [.init(name: "q", dtype: "F4", shape: [3], data: [0, 0])]
        let (bits, _) = try error(sub.bytes(header: "{\"q\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}"))
        #expect(bits?.description.contains("(tensor 'q'): 3 elements of F4 are 12 bits, not a whole number of bytes") == true)
    }

    @Test("ranges sorted, non-overlapping, covering without holes or trailing bytes")
    func coverage() throws {
        var hole = twoTensors()
        hole.entries[1].offsets = (10, 14)
        hole.trailingBytes = [0, 0]
        let (h, p1) = try error(hole.bytes())
        #expect(h?.description == "safetensors error in \(p1) (tensor 'b'): data_offsets leaves a hole: it starts at 10 but the previous tensor ends at 8. the file is corrupt; download it again")

        var overlap = twoTensors()
        overlap.entries[1].offsets = (6, 10)
        let (o, _) = try error(overlap.bytes())
        #expect(o?.description.contains("(tensor 'b'): data_offsets overlaps the previous tensor: it starts at 6 before 8") == true)

        var start = twoTensors()
        start.entries[0].offsets = (4, 12)
        start.entries[1].offsets = (12, 16)
        let (s, _) = try error(start.bytes())
        #expect(s?.description.contains("(tensor 'a'): data_offsets leaves a hole: it starts at 4 but the previous tensor ends at 0") == true)

        var trailing = twoTensors()
        trailing.trailingBytes = [9]
        let (t, p2) = try error(trailing.bytes())
        #expect(t?.description == "safetensors error in \(p2): tensors cover 12 bytes of data but the file holds 13 after the header. the file has trailing bytes no tensor claims; it is corrupt")

        let (cut, _) = try error(Array(twoTensors().bytes().dropLast()))
        #expect(cut?.kind == .incompleteCoverage)
        #expect(cut?.hint == "the file is truncated; download it again")

        // Entries listed out of data order are fine: the reference sorts by offset.
        var reversed = twoTensors()
        reversed.entries[0].offsets = (0, 8)
        reversed.entries[1].offsets = (8, 12)
        let header = "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        let url = try reversed.write(to: dir.appendingPathComponent("rev.safetensors"), header: header)
        #expect(try SafetensorsFile(contentsOf: url).tensors.map(\.name) == ["a", "b"])
    }

    @Test("empty header object is a valid empty file")
    func emptyFile() throws {
        let url = try SafetensorsTestFile().write(to: dir.appendingPathComponent("e.safetensors"))
        #expect(try SafetensorsFile(contentsOf: url).tensors.isEmpty)
    }
}
