/// One GGUF metadata value.
///
/// Arrays carry their element type explicitly so that an empty array keeps its type through a
/// read/write round trip; their elements must all be of that (non-array) type.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)
    indirect case array(elementType: GGUFValueType, elements: [GGUFValue])

    /// The type tag this value is written with.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// The string, for STRING values.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Any integer type widened to Int64; nil for non-integers and for a UINT64 above Int64.max.
    public var integerValue: Int64? {
        switch self {
        case .uint8(let v): return Int64(v)
        case .int8(let v): return Int64(v)
        case .uint16(let v): return Int64(v)
        case .int16(let v): return Int64(v)
        case .uint32(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .uint64(let v): return Int64(exactly: v)
        case .int64(let v): return v
        default: return nil
        }
    }

    /// FLOAT32 and FLOAT64 as Double. Integers are converted too (exactly where representable),
    /// because config-derived numbers such as a rope base are sometimes stored as integers by
    /// other writers; callers that need the stored type check `type`.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        case .uint64(let v): return Double(v)
        default:
            if let i = integerValue { return Double(i) }
            return nil
        }
    }

    /// The flag, for BOOL values.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, for ARRAY values.
    public var arrayValue: [GGUFValue]? {
        if case .array(_, let elements) = self { return elements }
        return nil
    }

    /// The declared element type, for ARRAY values.
    public var arrayElementType: GGUFValueType? {
        if case .array(let t, _) = self { return t }
        return nil
    }

    // MARK: Convenience constructors for the common homogeneous arrays.

    public static func stringArray(_ values: [String]) -> GGUFValue {
        .array(elementType: .string, elements: values.map { .string($0) })
    }

    public static func float32Array(_ values: [Float]) -> GGUFValue {
        .array(elementType: .float32, elements: values.map { .float32($0) })
    }

    public static func int32Array(_ values: [Int32]) -> GGUFValue {
        .array(elementType: .int32, elements: values.map { .int32($0) })
    }

    public static func uint32Array(_ values: [UInt32]) -> GGUFValue {
        .array(elementType: .uint32, elements: values.map { .uint32($0) })
    }
}

extension GGUFValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .array(let t, let elements):
            let shown = elements.prefix(8).map(\.description).joined(separator: ", ")
            let more = elements.count > 8 ? ", … (\(elements.count) total)" : ""
            return "[\(t)] [\(shown)\(more)]"
        }
    }
}
