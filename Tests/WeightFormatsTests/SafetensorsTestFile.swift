import Foundation
@testable import WeightFormats

/// Builds safetensors files byte by byte for the tests (the Python package is not required).
struct SafetensorsTestFile {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var data: [UInt8]
        /// Overrides the computed data_offsets (for corrupt-file tests).
        var offsets: (Int, Int)? = nil
    }

    var entries: [Entry] = []
    var metadata: [String: String]? = nil
    /// Pad the header with spaces to a multiple of 8, as the reference writer does.
    var padHeader = true
    var trailingBytes: [UInt8] = []

    /// The JSON header text, tensors in the order given, offsets consecutive unless overridden.
    func headerJSON() -> String {
        var parts: [String] = []
        if let metadata {
            let items = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for e in entries {
            let (s, t) = e.offsets ?? (offset, offset + e.data.count)
            offset += e.data.count
            parts.append("\"\(e.name)\":{\"dtype\":\"\(e.dtype)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(s),\(t)]}")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    func bytes(header override: String? = nil) -> [UInt8] {
        var header = Array((override ?? headerJSON()).utf8)
        if padHeader {
            while header.count % 8 != 0 { header.append(0x20) }
        }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        for e in entries { out += e.data }
        return out + trailingBytes
    }

    @discardableResult
    func write(to url: URL, header: String? = nil) throws -> URL {
        try Data(bytes(header: header)).write(to: url)
        return url
    }

    static func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    static func f32(_ values: [Float]) -> [UInt8] { le(values.map(\.bitPattern)) }
}
