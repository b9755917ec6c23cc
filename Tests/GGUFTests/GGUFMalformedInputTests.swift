import LineageTestSupport
import Foundation
import Testing
@testable import GGUF

/// Hand-built broken files: each must fail with an error that names the file, the byte offset
/// and the key or tensor involved.
@Suite("GGUF malformed input")
struct GGUFMalformedInputTests {
    let dir: URL

    init() throws {
        dir = try TestSupport.temporaryDirectory()
    }

    /// Builds a file byte by byte: header, raw key/value bytes, tensor infos, padding, data.
    func makeFile(
        _ name: String, magic: [UInt8] = Array("GGUF".utf8), version: UInt32 = 3,
        kvCount: UInt64? = nil, kvBytes: [UInt8] = [], kvs: Int = 0,
        infos: [GGUFTensorInfo] = [], dataBytes: Int = 0
    ) throws -> URL {
        var e = GGUFEncoder()
        e.append(UInt32(0))  // placeholder for magic, replaced below
        e.append(version)
        e.append(UInt64(infos.count))
        e.append(kvCount ?? UInt64(kvs))
        var bytes = e.bytes
        bytes.replaceSubrange(0..<4, with: magic)
        bytes += kvBytes
        var t = GGUFEncoder()
        for info in infos { t.append(tensorInfo: info) }
        bytes += t.bytes
        if !infos.isEmpty {
            while bytes.count % 32 != 0 { bytes.append(0) }
        }
        bytes += [UInt8](repeating: 0, count: dataBytes)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func kv(_ key: String, _ value: GGUFValue) -> [UInt8] {
        var e = GGUFEncoder()
        e.append(key: key, value: value)
        return e.bytes
    }

    func readError(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) -> GGUFError? {
        #expect(throws: GGUFError.self, sourceLocation: sourceLocation) {
            _ = try GGUFReader.readMetadata(contentsOf: url)
        }
    }

    @Test("empty file")
    func emptyFile() throws {
        let url = dir.appendingPathComponent("empty.gguf")
        try Data().write(to: url)
        let error = readError(url)
        #expect(error?.kind == .truncated)
        #expect(error?.description == "GGUF error in \(url.path) at byte 0: file is 0 bytes, too short to hold the GGUF magic. the file is empty or truncated; download it again")
    }

    @Test("bad magic")
    func badMagic() throws {
        let url = try makeFile("magic.gguf", magic: Array("GGJT".utf8))
        let error = readError(url)
        #expect(error?.kind == .badMagic)
        #expect(error?.description == "GGUF error in \(url.path) at byte 0: bad magic 'GGJT' (bytes 47 47 4a 54), expected 'GGUF'. this is not a GGUF file")
    }

    @Test("unsupported versions")
    func versions() throws {
        let v1 = readError(try makeFile("v1.gguf", version: 1))
        #expect(v1?.kind == .unsupportedVersion)
        #expect(v1?.description.contains("at byte 4: GGUF v1 is no longer supported") == true)
        let swapped = readError(try makeFile("be.gguf", version: 3 << 24))
        #expect(swapped?.description.contains("looks byte-swapped: the file is probably big-endian") == true)
        let future = readError(try makeFile("v4.gguf", version: 4))
        #expect(future?.description.contains("unsupported GGUF version 4") == true)
    }

    @Test("truncated in the middle of the key/values")
    func truncatedKeyValues() throws {
        let full = kv("general.name", .string("TinyLlama")) + kv("general.file_type", .uint32(15))
        let url = try makeFile("trunc.gguf", kvBytes: Array(full.dropLast(2)), kvs: 2)
        let error = readError(url)
        #expect(error?.kind == .truncated)
        // Header 24, first kv 8+12+4+8+9 = 41, second key 8+17, type 4: the value is at 94.
        #expect(error?.description == "GGUF error in \(url.path) at byte 94 (key 'general.file_type'): file ends while reading u32 value: needs 4 bytes, 2 left of 96. the file is truncated or corrupt; download it again")

        // Cut inside a string: its declared length now runs past the end of the file.
        let cut = try makeFile("trunc2.gguf", kvBytes: Array(kv("general.name", .string("TinyLlama")).dropLast(4)), kvs: 1)
        let stringError = readError(cut)
        #expect(stringError?.kind == .stringTooLong)
        #expect(stringError?.description == "GGUF error in \(cut.path) at byte 48 (key 'general.name'): string value declares 9 bytes but only 5 bytes remain in the file. the file is corrupt or not GGUF; download it again")
    }

    @Test("truncated tensor data")
    func truncatedData() throws {
        let info = GGUFTensorInfo(name: "w", dimensions: [32, 2], type: .q8_0, offset: 0)
        let url = try makeFile("data.gguf", infos: [info], dataBytes: 67)
        let error = readError(url)
        #expect(error?.kind == .dataOutOfBounds)
        #expect(error?.description.contains("at byte 24 (tensor 'w'): data bytes 96..<164 extend past the end of the file (163 bytes)") == true)
    }

    @Test("huge string length is bounded by the file size before allocating")
    func hugeStringLength() throws {
        var e = GGUFEncoder()
        e.append(UInt64(1) << 62)
        e.append(UInt32(0))
        let url = try makeFile("huge.gguf", kvBytes: e.bytes + [UInt8](repeating: 0, count: 16), kvs: 1)
        let error = readError(url)
        #expect(error?.kind == .stringTooLong)
        #expect(error?.description == "GGUF error in \(url.path) at byte 24 (key/value #0): key of key/value #0 declares 4611686018427387904 bytes but only 20 bytes remain in the file. the file is corrupt or not GGUF; download it again")
    }

    @Test("huge counts are rejected before allocating")
    func hugeCounts() throws {
        let url = try makeFile("count.gguf", kvCount: UInt64.max)
        let error = readError(url)
        #expect(error?.kind == .countTooLarge)
        #expect(error?.description.contains("at byte 16: key/value count 18446744073709551615 cannot fit") == true)

        var e = GGUFEncoder()
        e.append(string: "tokens")
        e.append(GGUFValueType.array.rawValue)
        e.append(GGUFValueType.string.rawValue)
        e.append(UInt64(1) << 40)
        let array = readError(try makeFile("array.gguf", kvBytes: e.bytes, kvs: 1))
        #expect(array?.kind == .countTooLarge)
        #expect(array?.description.contains("(key 'tokens'): array of 1099511627776 str values cannot fit") == true)
    }

    @Test("duplicate key")
    func duplicateKey() throws {
        let bytes = kv("general.name", .string("a")) + kv("general.name", .string("b"))
        let url = try makeFile("dup.gguf", kvBytes: bytes, kvs: 2)
        let error = readError(url)
        #expect(error?.kind == .duplicateKey)
        #expect(error?.description == "GGUF error in \(url.path) at byte 57 (key 'general.name'): duplicate key 'general.name' (first at byte 24). GGUF keys must be unique; the writer that made this file is broken")
    }

    @Test("unknown value type and nested arrays")
    func badValueTypes() throws {
        var e = GGUFEncoder()
        e.append(string: "k")
        e.append(UInt32(13))
        let unknown = readError(try makeFile("type.gguf", kvBytes: e.bytes + [0, 0, 0, 0], kvs: 1))
        #expect(unknown?.kind == .unknownValueType)
        #expect(unknown?.description.contains("at byte 33 (key 'k'): unknown value type 13") == true)

        var n = GGUFEncoder()
        n.append(string: "k")
        n.append(GGUFValueType.array.rawValue)
        n.append(GGUFValueType.array.rawValue)
        n.append(UInt64(0))
        let nested = readError(try makeFile("nested.gguf", kvBytes: n.bytes, kvs: 1))
        #expect(nested?.kind == .nestedArray)
        #expect(nested?.description.contains("at byte 37 (key 'k'): arrays of arrays are not supported") == true)
    }

    @Test("invalid UTF-8 in a string")
    func invalidUTF8() throws {
        var e = GGUFEncoder()
        e.append(string: "k")
        e.append(GGUFValueType.string.rawValue)
        e.append(UInt64(2))
        let url = try makeFile("utf8.gguf", kvBytes: e.bytes + [0xC3, 0x28], kvs: 1)
        let error = readError(url)
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.description.contains("at byte 45 (key 'k'): string value is not valid UTF-8") == true)
    }

    @Test("alignment must be a u32 power of two")
    func badAlignment() throws {
        let wrongType = readError(try makeFile("a1.gguf", kvBytes: kv("general.alignment", .uint64(32)), kvs: 1))
        #expect(wrongType?.kind == .invalidAlignment)
        #expect(wrongType?.description.contains("(key 'general.alignment'): general.alignment must be u32 but is u64") == true)
        let notPower = readError(try makeFile("a2.gguf", kvBytes: kv("general.alignment", .uint32(48)), kvs: 1))
        #expect(notPower?.description.contains("general.alignment 48 is not a power of two") == true)
    }

    @Test("misaligned tensor offset")
    func misalignedOffset() throws {
        let a = GGUFTensorInfo(name: "a", dimensions: [4], type: .f32, offset: 0)
        let b = GGUFTensorInfo(name: "b", dimensions: [4], type: .f32, offset: 16)
        let url = try makeFile("misaligned.gguf", infos: [a, b], dataBytes: 64)
        let error = readError(url)
        #expect(error?.kind == .misalignedOffset)
        // Info of 'a' is 8+1+4+8+4+8 = 33 bytes after the 24-byte header.
        #expect(error?.description == "GGUF error in \(url.path) at byte 57 (tensor 'b'): data offset 16 is not a multiple of the alignment 32. llama.cpp rejects this file; rewrite it with a conforming writer")
    }

    @Test("aligned offset that is not the running padded sum")
    func unexpectedOffset() throws {
        let a = GGUFTensorInfo(name: "a", dimensions: [4], type: .f32, offset: 0)
        let b = GGUFTensorInfo(name: "b", dimensions: [4], type: .f32, offset: 64)
        let error = readError(try makeFile("gap.gguf", infos: [a, b], dataBytes: 128))
        #expect(error?.kind == .unexpectedOffset)
        #expect(error?.description.contains("(tensor 'b'): data offset 64 is not 32, the padded sum of the tensors before it") == true)
    }

    @Test("tensor info checks: dimensions, type, row length, names")
    func tensorInfoChecks() throws {
        let fiveDims = GGUFTensorInfo(name: "t", dimensions: [1, 1, 1, 1, 1], type: .f32, offset: 0)
        let dims = readError(try makeFile("dims.gguf", infos: [fiveDims], dataBytes: 32))
        #expect(dims?.kind == .tooManyDimensions)
        #expect(dims?.description.contains("at byte 33 (tensor 't'): tensor has 5 dimensions; ggml allows at most 4") == true)

        var e = GGUFEncoder()
        e.append(string: "t")
        e.append(UInt32(1))
        e.append(UInt64(4))
        e.append(UInt32(31))  // retired Q4_0_4_4
        e.append(UInt64(0))
        var bytes = e.bytes
        var header = GGUFEncoder()
        header.append(UInt32(0x4655_4747))
        header.append(UInt32(3))
        header.append(UInt64(1))
        header.append(UInt64(0))
        bytes = header.bytes + bytes
        let url = dir.appendingPathComponent("ttype.gguf")
        try Data(bytes + [UInt8](repeating: 0, count: 64)).write(to: url)
        let type = readError(url)
        #expect(type?.kind == .unknownTensorType)
        #expect(type?.description.contains("at byte 45 (tensor 't'): unknown ggml type id 31") == true)

        let row = readError(try makeFile("row.gguf", infos: [GGUFTensorInfo(name: "q", dimensions: [48], type: .q8_0, offset: 0)], dataBytes: 64))
        #expect(row?.kind == .rowNotBlockMultiple)
        #expect(row?.description.contains("row length 48 is not a multiple of Q8_0's block size 32") == true)

        let same = GGUFTensorInfo(name: "x", dimensions: [8], type: .f32, offset: 0)
        let dup = readError(try makeFile("duptensor.gguf", infos: [same, same], dataBytes: 64))
        #expect(dup?.kind == .duplicateTensor)

        let long = GGUFTensorInfo(name: String(repeating: "n", count: 64), dimensions: [8], type: .f32, offset: 0)
        let name = readError(try makeFile("longname.gguf", infos: [long], dataBytes: 32))
        #expect(name?.kind == .tensorNameTooLong)
        #expect(name?.description.contains("tensor name is 64 bytes; ggml allows at most 63") == true)
    }
}
