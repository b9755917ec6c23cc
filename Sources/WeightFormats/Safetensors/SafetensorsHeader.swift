import Foundation

/// Parses and validates a safetensors header the way the reference `safetensors` crate does
/// (SafeTensors::read_metadata and Metadata::validate):
/// - an 8-byte little-endian header length, at most 100,000,000 and inside the file;
/// - UTF-8 JSON: an object whose `__metadata__` (optional) maps strings to strings and whose
///   other entries each have a known `dtype`, a `shape` of non-negative integers and
///   `data_offsets` of two non-negative integers;
/// - sorted by offset, the tensors start at 0, each begins where the previous one ended, each
///   is exactly shape product x dtype size bytes (sub-byte types must fill whole bytes), and the
///   last ends exactly at the end of the file.
struct SafetensorsHeader {
    static let maxHeaderSize = 100_000_000

    let metadata: [String: String]
    /// Sorted by data offset.
    let tensors: [SafetensorsTensorInfo]
    /// Absolute offset of the data section (8 + header length).
    let dataOffset: Int

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SafetensorsHeader {
        guard bytes.count >= 8 else {
            throw SafetensorsError(
                .headerTooSmall, file: file,
                message: "file is \(bytes.count) bytes, too short for the 8-byte header length",
                hint: "the file is empty or truncated; download it again")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maxHeaderSize) else {
            throw SafetensorsError(
                .headerTooLarge, file: file,
                message: "header length \(declared) exceeds the 100,000,000-byte limit",
                hint: "this is not a safetensors file, or it is corrupt")
        }
        let n = Int(declared)
        guard 8 + n <= bytes.count else {
            throw SafetensorsError(
                .headerPastEndOfFile, file: file,
                message: "header length \(n) runs past the end of the \(bytes.count)-byte file",
                hint: "the file is truncated; download it again")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + n)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw SafetensorsError(.invalidHeaderUTF8, file: file, message: "header is not valid UTF-8",
                                   hint: "the file is corrupt")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw SafetensorsError(
                .invalidJSON, file: file, message: "header is not valid JSON: \(error.localizedDescription)",
                hint: "the file is corrupt")
        }
        guard let object = json as? [String: Any] else {
            throw SafetensorsError(.invalidJSON, file: file, message: "header JSON is not an object",
                                   hint: "the file is corrupt")
        }

        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        for (name, entry) in object {
            if name == "__metadata__" {
                if entry is NSNull { continue }  // serde reads null as "no metadata"
                guard let map = entry as? [String: Any] else {
                    throw SafetensorsError(.invalidMetadata, file: file,
                                           message: "__metadata__ must be an object of strings")
                }
                for (key, value) in map {
                    guard let string = value as? String else {
                        throw SafetensorsError(
                            .invalidMetadata, file: file,
                            message: "__metadata__ value for '\(key)' is not a string",
                            hint: "the reference library rejects this file too")
                    }
                    metadata[key] = string
                }
                continue
            }
            tensors.append(try parseTensor(name: name, entry: entry, file: file))
        }

        // The reference sorts by data_offsets (start, then end) before validating.
        tensors.sort {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        var end = 0
        for t in tensors {
            guard t.dataOffsets.lowerBound == end else {
                let what = t.dataOffsets.lowerBound > end
                    ? "leaves a hole: it starts at \(t.dataOffsets.lowerBound) but the previous tensor ends at \(end)"
                    : "overlaps the previous tensor: it starts at \(t.dataOffsets.lowerBound) before \(end)"
                throw SafetensorsError(.invalidOffsets, file: file, tensor: t.name, message: "data_offsets \(what)",
                                       hint: "the file is corrupt; download it again")
            }
            let bytesNeeded = try byteCount(of: t, file: file)
            guard t.dataOffsets.count == bytesNeeded else {
                throw SafetensorsError(
                    .sizeMismatch, file: file, tensor: t.name,
                    message: "data_offsets cover \(t.dataOffsets.count) bytes but shape \(t.shape) of \(t.dtype.rawValue) needs \(bytesNeeded)",
                    hint: "the file is corrupt")
            }
            end = t.dataOffsets.upperBound
        }
        let dataSize = bytes.count - 8 - n
        guard end == dataSize else {
            throw SafetensorsError(
                .incompleteCoverage, file: file, tensor: nil,
                message: "tensors cover \(end) bytes of data but the file holds \(dataSize) after the header",
                hint: end < dataSize ? "the file has trailing bytes no tensor claims; it is corrupt" : "the file is truncated; download it again")
        }
        return SafetensorsHeader(metadata: metadata, tensors: tensors, dataOffset: 8 + n)
    }

    private static func byteCount(of t: SafetensorsTensorInfo, file: String) throws -> Int {
        var elements = 1
        for d in t.shape {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            guard !o else {
                throw SafetensorsError(.overflow, file: file, tensor: t.name, message: "shape \(t.shape) overflows")
            }
            elements = p
        }
        let (bits, o) = elements.multipliedReportingOverflow(by: t.dtype.bitSize)
        guard !o else {
            throw SafetensorsError(.overflow, file: file, tensor: t.name, message: "shape \(t.shape) overflows")
        }
        guard bits % 8 == 0 else {
            throw SafetensorsError(
                .subByteMisaligned, file: file, tensor: t.name,
                message: "\(elements) elements of \(t.dtype.rawValue) are \(bits) bits, not a whole number of bytes")
        }
        return bits / 8
    }

    private static func parseTensor(name: String, entry: Any, file: String) throws -> SafetensorsTensorInfo {
        func invalid(_ message: String) -> SafetensorsError {
            SafetensorsError(.invalidTensorEntry, file: file, tensor: name, message: message,
                             hint: "the header is corrupt")
        }
        guard let fields = entry as? [String: Any] else {
            throw invalid("entry is not an object with dtype, shape and data_offsets")
        }
        guard let dtypeName = fields["dtype"] as? String else { throw invalid("missing or non-string 'dtype'") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError(
                .unknownDType, file: file, tensor: name, message: "unknown dtype '\(dtypeName)'",
                hint: "known dtypes: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let shapeArray = fields["shape"] as? [Any] else { throw invalid("missing or non-array 'shape'") }
        var shape: [Int] = []
        for d in shapeArray {
            guard let v = jsonNonNegativeInt(d) else { throw invalid("shape \(shapeArray) has a non-integer or negative entry") }
            shape.append(v)
        }
        guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
              let start = jsonNonNegativeInt(offsets[0]), let end = jsonNonNegativeInt(offsets[1])
        else {
            throw invalid("'data_offsets' must be two non-negative integers")
        }
        guard start <= end else {
            throw SafetensorsError(.invalidOffsets, file: file, tensor: name,
                                   message: "data_offsets [\(start), \(end)] end before they start",
                                   hint: "the file is corrupt")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: start..<end)
    }

    /// A JSON integer (not a float such as 2.0, not a boolean), as the reference's usize fields
    /// accept.
    static func jsonNonNegativeInt(_ any: Any) -> Int? {
        guard let number = any as? NSNumber else { return nil }
        switch String(cString: number.objCType) {
        case "s", "i", "l", "q":
            let v = number.int64Value
            return v >= 0 ? Int(v) : nil
        case "S", "I", "L", "Q":
            return Int(exactly: number.uint64Value)
        default:
            return nil
        }
    }
}
