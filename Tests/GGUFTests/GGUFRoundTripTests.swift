import LineageTestSupport
import Foundation
import Testing
@testable import GGUF

/// Metadata with one value of every scalar type and an array of every non-array type,
/// including awkward values (extremes, negative zero, NaN-free floats, non-ASCII strings).
let everyTypeKeyValues: [(key: String, value: GGUFValue)] = [
    ("general.architecture", .string("llama")),
    ("test.u8", .uint8(.max)),
    ("test.i8", .int8(.min)),
    ("test.u16", .uint16(.max)),
    ("test.i16", .int16(.min)),
    ("test.u32", .uint32(.max)),
    ("test.i32", .int32(.min)),
    ("test.f32", .float32(-0.1)),
    ("test.bool", .bool(true)),
    ("test.string", .string("Taiwan Llama 台灣 ✓")),
    ("test.empty_string", .string("")),
    ("test.u64", .uint64(.max)),
    ("test.i64", .int64(.min)),
    ("test.f64", .float64(Double(bitPattern: 0x0000_1234_5678_9ABC))),
    ("test.arr.u8", .array(elementType: .uint8, elements: [.uint8(0), .uint8(255)])),
    ("test.arr.i8", .array(elementType: .int8, elements: [.int8(-128), .int8(127)])),
    ("test.arr.u16", .array(elementType: .uint16, elements: [.uint16(1), .uint16(65535)])),
    ("test.arr.i16", .array(elementType: .int16, elements: [.int16(-32768)])),
    ("test.arr.u32", .uint32Array([0, 1, .max])),
    ("test.arr.i32", .int32Array([-1, 2, 3])),
    ("test.arr.f32", .float32Array([-1000, -0.0, Float(bitPattern: 0x0000_0A00), .greatestFiniteMagnitude])),
    ("test.arr.bool", .array(elementType: .bool, elements: [.bool(false), .bool(true)])),
    ("test.arr.string", .stringArray(["<unk>", "<s>", "▁the", "", "\n"])),
    ("test.arr.u64", .array(elementType: .uint64, elements: [.uint64(0), .uint64(.max)])),
    ("test.arr.i64", .array(elementType: .int64, elements: [.int64(.min), .int64(.max)])),
    ("test.arr.f64", .array(elementType: .float64, elements: [.float64(.pi), .float64(-.infinity)])),
    ("test.arr.empty", .array(elementType: .int32, elements: [])),
]

let sampleTensors: [GGUFTensorDescriptor] = [
    GGUFTensorDescriptor(name: "token_embd.weight", dimensions: [8, 3], type: .f32),
    GGUFTensorDescriptor(name: "output_norm.weight", dimensions: [5], type: .f16),
    GGUFTensorDescriptor(name: "blk.0.attn_q.weight", dimensions: [64, 2], type: .q8_0),
    GGUFTensorDescriptor(name: "blk.0.ffn_down.weight", dimensions: [256, 1, 1, 2], type: .q4_K),
    GGUFTensorDescriptor(name: "blk.0.attn_v.weight", dimensions: [256], type: .q6_K),
]

/// Deterministic filler bytes for a tensor, different per tensor.
func fillerBytes(count: Int, seed: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ seed &* 7 &+ 1) }
}

/// Writes `everyTypeKeyValues` and `sampleTensors` with filler data, returning the data written.
@discardableResult
func writeSampleFile(to url: URL, alignment: UInt32? = nil) throws -> [[UInt8]] {
    var kvs = everyTypeKeyValues
    if let alignment { kvs.append(("general.alignment", .uint32(alignment))) }
    let writer = try GGUFWriter(url: url, keyValues: kvs, tensors: sampleTensors)
    var written: [[UInt8]] = []
    for (i, info) in writer.tensors.enumerated() {
        let bytes = fillerBytes(count: Int(info.byteCount), seed: i)
        // Write the first tensor in two chunks to exercise chunked streaming.
        if i == 0 {
            try writer.writeTensorData(Array(bytes[..<10]))
            try writer.writeTensorData(Array(bytes[10...]))
        } else {
            try writer.writeTensorData(bytes)
        }
        written.append(bytes)
    }
    try writer.finish()
    return written
}

/// Collects what a writer sends to a sink (a stand-in for the store's staged write).
final class CollectingSink: GGUFByteSink {
    var bytes: [UInt8] = []
    func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
}

@Suite("GGUF round trip")
struct GGUFRoundTripTests {
    @Test("a sink receives exactly the bytes of the file, in order")
    func aSinkGetsTheFileBytes() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("file.gguf")
        let written = try writeSampleFile(to: url)
        let sink = CollectingSink()
        let writer = try GGUFWriter(sink: sink, name: "sink.gguf", keyValues: everyTypeKeyValues, tensors: sampleTensors)
        for bytes in written { try writer.writeTensorData(bytes) }
        try writer.finish()
        #expect(sink.bytes == Array(try Data(contentsOf: url)))
        // Nothing is written beside a sink's name.
        #expect(TestSupport.files(in: dir) == ["file.gguf"])
    }

    @Test("every metadata type reads back equal, in order")
    func everyTypeRoundTrips() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("all.gguf")
        let written = try writeSampleFile(to: url)

        let metadata = try GGUFReader.readMetadata(contentsOf: url)
        #expect(metadata.version == 3)
        #expect(metadata.alignment == 32)
        #expect(metadata.keyValues.map(\.key) == everyTypeKeyValues.map(\.key))
        for (expected, actual) in zip(everyTypeKeyValues, metadata.keyValues) {
            #expect(expected.value == actual.value, "\(expected.key)")
        }
        #expect(metadata["test.string"]?.stringValue == "Taiwan Llama 台灣 ✓")
        #expect(metadata["test.i8"]?.integerValue == -128)
        #expect(metadata["test.u64"]?.integerValue == nil)  // above Int64.max
        #expect(metadata["test.u32"]?.integerValue == Int64(UInt32.max))
        #expect(metadata["test.f32"]?.doubleValue == Double(Float(-0.1)))
        #expect(metadata["test.bool"]?.boolValue == true)
        #expect(metadata["test.arr.string"]?.arrayValue?.count == 5)
        #expect(metadata["missing"] == nil)

        #expect(metadata.tensors.map(\.name) == sampleTensors.map(\.name))
        #expect(metadata.tensors.map(\.dimensions) == sampleTensors.map(\.dimensions))
        #expect(metadata.tensors.map(\.type) == sampleTensors.map(\.type))
        #expect(metadata.dataOffset % 32 == 0)

        // Offsets are the running padded sum and the data is where the infos say.
        let file = try Data(contentsOf: url)
        var expectedOffset: UInt64 = 0
        for (info, bytes) in zip(metadata.tensors, written) {
            #expect(info.offset == expectedOffset)
            let range = metadata.absoluteRange(of: info)
            #expect(Array(file[Int(range.lowerBound)..<Int(range.upperBound)]) == bytes, "data of \(info.name)")
            expectedOffset += (info.byteCount + 31) / 32 * 32
        }
        // The last tensor is padded too.
        #expect(UInt64(file.count) == metadata.dataOffset + expectedOffset)
        // No partial file is left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == ["all.gguf"])
    }

    @Test("custom alignment is honoured by writer and reader")
    func customAlignment() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("aligned.gguf")
        try writeSampleFile(to: url, alignment: 64)
        let metadata = try GGUFReader.readMetadata(contentsOf: url)
        #expect(metadata.alignment == 64)
        #expect(metadata.dataOffset % 64 == 0)
        #expect(metadata.tensors.allSatisfy { $0.offset % 64 == 0 })
    }

    @Test("a file with no tensors round trips")
    func noTensors() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("empty.gguf")
        let writer = try GGUFWriter(url: url, keyValues: [("general.name", .string("x"))], tensors: [])
        try writer.finish()
        let metadata = try GGUFReader.readMetadata(contentsOf: url)
        #expect(metadata.tensors.isEmpty)
        #expect(metadata["general.name"]?.stringValue == "x")
    }

    @Test("writer rejects misuse with clear errors")
    func writerMisuse() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.gguf")

        let duplicate = #expect(throws: GGUFError.self) {
            _ = try GGUFWriter(url: url, keyValues: [("a", .uint8(1)), ("a", .uint8(2))], tensors: [])
        }
        #expect(duplicate?.kind == .duplicateKey)
        #expect(duplicate?.description.contains("key 'a'") == true)

        let mixed = #expect(throws: GGUFError.self) {
            _ = try GGUFWriter(url: url, keyValues: [("m", .array(elementType: .int32, elements: [.int32(1), .float32(2)]))], tensors: [])
        }
        #expect(mixed?.kind == .invalidValue)

        let badRow = #expect(throws: GGUFError.self) {
            _ = try GGUFWriter(url: url, keyValues: [], tensors: [GGUFTensorDescriptor(name: "t", dimensions: [100], type: .q4_K)])
        }
        #expect(badRow?.kind == .rowNotBlockMultiple)
        #expect(badRow?.description.contains("row length 100 is not a multiple of Q4_K's block size 256") == true)

        let longName = String(repeating: "x", count: 64)
        let tooLong = #expect(throws: GGUFError.self) {
            _ = try GGUFWriter(url: url, keyValues: [], tensors: [GGUFTensorDescriptor(name: longName, dimensions: [1], type: .f32)])
        }
        #expect(tooLong?.kind == .tensorNameTooLong)

        let writer = try GGUFWriter(url: url, keyValues: [], tensors: [GGUFTensorDescriptor(name: "t", dimensions: [4], type: .f32)])
        let overrun = #expect(throws: GGUFError.self) { try writer.writeTensorData([UInt8](repeating: 0, count: 17)) }
        #expect(overrun?.description.contains("overruns the tensor: 16 of 16 bytes remain") == true)
        let early = #expect(throws: GGUFError.self) { try writer.finish() }
        #expect(early?.description.contains("incomplete") == true)
        try writer.writeTensorData([UInt8](repeating: 0, count: 16))
        try writer.finish()
        #expect(FileManager.default.fileExists(atPath: url.path))
    }

    @Test("an unfinished writer leaves no file behind")
    func abandonedWriter() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("abandoned.gguf")
        do {
            let writer = try GGUFWriter(url: url, keyValues: [], tensors: [GGUFTensorDescriptor(name: "t", dimensions: [4], type: .f32)])
            try writer.writeTensorData([UInt8](repeating: 0, count: 8))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

@Suite("GGUF large metadata")
struct GGUFLargeMetadataTests {
    @Test("a 150k-token vocabulary round trips")
    func largeVocabulary() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("vocab.gguf")
        let n = 150_000
        let tokens = (0..<n).map { "tok\($0)" }
        let writer = try GGUFWriter(url: url, keyValues: [
            ("tokenizer.ggml.tokens", .stringArray(tokens)),
            ("tokenizer.ggml.scores", .float32Array((0..<n).map { Float($0) })),
            ("tokenizer.ggml.token_type", .int32Array([Int32](repeating: 1, count: n))),
        ], tensors: [])
        try writer.finish()
        let clock = ContinuousClock()
        var metadata: GGUFMetadata?
        let elapsed = try clock.measure { metadata = try GGUFReader.readMetadata(contentsOf: url) }
        #expect(metadata?["tokenizer.ggml.tokens"]?.arrayValue?.count == n)
        #expect(metadata?["tokenizer.ggml.tokens"]?.arrayValue?.last == .string("tok149999"))
        #expect(metadata?["tokenizer.ggml.scores"]?.arrayValue?[1234] == .float32(1234))
        print("read 3 x \(n)-element arrays in \(elapsed)")
    }
}
