import Foundation

/// Writes safetensors files for the tests: a JSON header with consecutive data_offsets (padded
/// with spaces to 8 bytes as the reference writer does), then each tensor's little-endian bytes.
struct SafetensorsWriter {
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
    }

    var tensors: [Tensor] = []
    var metadata: [String: String] = ["format": "pt"]

    mutating func add(_ name: String, dtype: String, shape: [Int], values: [Float]) {
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape, bytes: Self.encode(values, as: dtype)))
    }

    static func encode(_ values: [Float], as dtype: String) -> [UInt8] {
        var out: [UInt8] = []
        switch dtype {
        case "F32":
            out.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        case "F16":
            out.reserveCapacity(values.count * 2)
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { out += $0 } }
        case "BF16":
            out.reserveCapacity(values.count * 2)
            // Round to nearest even on the dropped half, as torch does for finite values.
            for v in values {
                let u = v.bitPattern
                let b = UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
                withUnsafeBytes(of: b.littleEndian) { out += $0 }
            }
        default:
            preconditionFailure("the test writer encodes F32, F16 and BF16, not \(dtype)")
        }
        return out
    }

    func headerJSON() -> String {
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            parts.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    func write(to url: URL) throws {
        var header = Array(headerJSON().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for t in tensors { data.append(contentsOf: t.bytes) }
        try data.write(to: url)
    }
}
