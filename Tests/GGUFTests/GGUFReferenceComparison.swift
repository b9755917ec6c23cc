import Foundation
import Testing
@testable import GGUF

/// Compares what lineage's reader sees with what gguf-py's reader printed (gguf_dump.py).
enum GGUFReferenceComparison {
    /// Converts a value to the JSON shape gguf_dump.py prints: floats as bit patterns.
    static func jsonScalar(_ value: GGUFValue) -> AnyHashable {
        switch value {
        case .uint8(let v): return Int64(v)
        case .int8(let v): return Int64(v)
        case .uint16(let v): return Int64(v)
        case .int16(let v): return Int64(v)
        case .uint32(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .uint64(let v): return v.description
        case .int64(let v): return v
        case .float32(let v): return Int64(v.bitPattern)
        case .float64(let v): return v.bitPattern.description
        case .bool(let v): return v
        case .string(let v): return v
        case .array: return "array"
        }
    }

    static func referenceScalar(_ any: Any, type: GGUFValueType) -> AnyHashable {
        switch type {
        case .uint64, .float64:
            return any as! String
        case .bool:
            return (any as! NSNumber).boolValue
        case .string:
            return any as! String
        default:
            return (any as! NSNumber).int64Value
        }
    }

    static func assertMatches(_ metadata: GGUFMetadata, reference: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((reference["version"] as? Int).map(UInt32.init) == metadata.version, sourceLocation: sourceLocation)
        #expect((reference["data_offset"] as? Int).map(UInt64.init) == metadata.dataOffset, sourceLocation: sourceLocation)
        #expect((reference["alignment"] as? Int).map(UInt64.init) == metadata.alignment, sourceLocation: sourceLocation)

        let kvs = reference["kv"] as! [[String: Any]]
        #expect(kvs.count == metadata.keyValues.count, "key/value count", sourceLocation: sourceLocation)
        for (ref, ours) in zip(kvs, metadata.keyValues) {
            let key = ref["key"] as! String
            #expect(key == ours.key, sourceLocation: sourceLocation)
            let type = GGUFValueType(rawValue: UInt32(ref["type"] as! Int))!
            #expect(type == ours.value.type, "type of \(key)", sourceLocation: sourceLocation)
            if type == .array {
                let elementType = GGUFValueType(rawValue: UInt32(ref["elem_type"] as! Int))!
                #expect(elementType == ours.value.arrayElementType, "element type of \(key)", sourceLocation: sourceLocation)
                let refValues = (ref["value"] as! [Any]).map { referenceScalar($0, type: elementType) }
                let ourValues = (ours.value.arrayValue ?? []).map(jsonScalar)
                #expect(refValues == ourValues, "value of \(key)", sourceLocation: sourceLocation)
            } else {
                #expect(referenceScalar(ref["value"]!, type: type) == jsonScalar(ours.value), "value of \(key)", sourceLocation: sourceLocation)
            }
        }

        let tensors = reference["tensors"] as! [[String: Any]]
        #expect(tensors.count == metadata.tensors.count, "tensor count", sourceLocation: sourceLocation)
        for (ref, ours) in zip(tensors, metadata.tensors) {
            #expect(ref["name"] as? String == ours.name, sourceLocation: sourceLocation)
            #expect((ref["ne"] as! [Int]).map(UInt64.init) == ours.dimensions, "shape of \(ours.name)", sourceLocation: sourceLocation)
            #expect(UInt32(ref["type"] as! Int) == ours.type.rawValue, "type of \(ours.name)", sourceLocation: sourceLocation)
            #expect(UInt64(ref["offset"] as! Int) == ours.offset, "offset of \(ours.name)", sourceLocation: sourceLocation)
            #expect(UInt64(ref["n_bytes"] as! Int) == ours.byteCount, "size of \(ours.name)", sourceLocation: sourceLocation)
        }
    }
}
