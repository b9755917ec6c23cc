import Foundation

/// A JSON object read from one of a checkpoint's files (config.json, tokenizer_config.json,
/// tokenizer.json), with typed accessors whose errors name the file and the field.
///
/// Foundation's JSONSerialization gives NSNumber for both booleans and numbers; the accessors
/// tell them apart by the number's Objective-C type so that `true` is never read as 1.
struct JSONObject: @unchecked Sendable {
    let file: String
    let fields: [String: Any]

    init(file: String, fields: [String: Any]) {
        self.file = file
        self.fields = fields
    }

    /// Reads `url` as a JSON object; nil when the file does not exist.
    static func load(_ url: URL) throws -> JSONObject? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConversionError(.missingFile, file: url.path, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path)
    }

    static func parse(_ data: Data, file: String) throws -> JSONObject {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data)
        } catch {
            let nsError = error as NSError
            let why = (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
            throw ConversionError(.invalidJSON, file: file, message: "malformed JSON: \(why)",
                                  hint: "the file is corrupt; download it again")
        }
        guard let object = value as? [String: Any] else {
            throw ConversionError(.invalidJSON, file: file, message: "expected a JSON object at the top level")
        }
        return JSONObject(file: file, fields: object)
    }

    func has(_ key: String) -> Bool {
        guard let value = fields[key] else { return false }
        return !(value is NSNull)
    }

    func invalid(_ key: String, _ message: String, hint: String? = nil) -> ConversionError {
        ConversionError(.invalidField, file: file, subject: "field '\(key)'", message: message, hint: hint)
    }

    func missing(_ key: String, hint: String? = nil) -> ConversionError {
        ConversionError(.missingField, file: file, subject: "field '\(key)'", message: "required field is missing", hint: hint)
    }

    /// An integer field (a JSON integer, not a float or a boolean), or nil when absent or null.
    func integer(_ key: String) throws -> Int? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, let int = Self.integer(number) else {
            throw invalid(key, "expected an integer, found \(Self.describe(value))")
        }
        return int
    }

    func requiredInteger(_ key: String, hint: String? = nil) throws -> Int {
        guard let value = try integer(key) else { throw missing(key, hint: hint) }
        return value
    }

    /// A number field (integer or float), or nil when absent or null.
    func number(_ key: String) throws -> Double? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else {
            throw invalid(key, "expected a number, found \(Self.describe(value))")
        }
        return number.doubleValue
    }

    func string(_ key: String) throws -> String? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let string = value as? String else {
            throw invalid(key, "expected a string, found \(Self.describe(value))")
        }
        return string
    }

    func boolean(_ key: String) throws -> Bool? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw invalid(key, "expected true or false, found \(Self.describe(value))")
        }
        return number.boolValue
    }

    func object(_ key: String) throws -> JSONObject? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else {
            throw invalid(key, "expected an object, found \(Self.describe(value))")
        }
        return JSONObject(file: file, fields: object)
    }

    func array(_ key: String) throws -> [Any]? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let array = value as? [Any] else {
            throw invalid(key, "expected an array, found \(Self.describe(value))")
        }
        return array
    }

    static func isBoolean(_ number: NSNumber) -> Bool {
        // CFBoolean reports "c"; so does a genuine char, which JSON never produces.
        String(cString: number.objCType) == "c"
    }

    static func integer(_ number: NSNumber) -> Int? {
        switch String(cString: number.objCType) {
        case "s", "i", "l", "q": return Int(exactly: number.int64Value)
        case "S", "I", "L", "Q": return Int(exactly: number.uint64Value)
        default: return nil
        }
    }

    static func describe(_ value: Any) -> String {
        switch value {
        case let n as NSNumber: return isBoolean(n) ? (n.boolValue ? "true" : "false") : "\(n)"
        case let s as String: return "\"\(s.prefix(40))\""
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is NSNull: return "null"
        default: return "\(type(of: value))"
        }
    }
}

/// find_hparam: convert_hf_to_gguf.py looks each hyperparameter up under several names, the
/// first one present winning; these do the same with errors that list every name tried.
extension JSONObject {
    /// The first of `keys` present, as (key, value).
    func firstInteger(_ keys: [String]) throws -> (key: String, value: Int)? {
        for key in keys { if let v = try integer(key) { return (key, v) } }
        return nil
    }

    func firstNumber(_ keys: [String]) throws -> (key: String, value: Double)? {
        for key in keys { if let v = try number(key) { return (key, v) } }
        return nil
    }

    /// A count llama.cpp stores as UINT32: present under one of `keys`, positive, 32-bit.
    func count(_ keys: [String], what: String) throws -> Int {
        guard let (key, value) = try firstInteger(keys) else {
            throw ConversionError(
                .missingField, file: file, subject: "field '\(keys[0])'",
                message: "config.json gives no \(what) (looked for \(keys.joined(separator: ", ")))",
                hint: "the checkpoint's config.json is incomplete; download it again")
        }
        guard value > 0, value <= Int(UInt32.max) else {
            throw invalid(key, "\(what) must be a positive 32-bit count, found \(value)")
        }
        return value
    }

    /// A positive finite number under one of `keys` (epsilons, fractions).
    func positiveNumber(_ keys: [String], what: String, hint: String? = nil) throws -> Double {
        guard let (key, value) = try firstNumber(keys) else {
            throw ConversionError(
                .missingField, file: file, subject: "field '\(keys[0])'",
                message: "config.json gives no \(what) (looked for \(keys.joined(separator: ", ")))",
                hint: hint ?? "the checkpoint's config.json is incomplete; download it again")
        }
        guard value > 0, value.isFinite else { throw invalid(key, "\(what) must be positive, found \(value)") }
        return value
    }
}
