import GRDB
import GRDBSQLite

/// A prepared statement executed once per row with values bound straight to SQLite. A
/// million-row import spends most of its time building and checking `StatementArguments`
/// otherwise; here a row costs what SQLite itself costs.
struct BulkStatement {
    private let statement: Statement
    private let connection: OpaquePointer

    init(_ db: Database, sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        connection = db.sqliteConnection!
    }

    /// Binds one row's values (in the order of the SQL's `?`) and runs it.
    func execute(_ values: [BulkValue]) throws {
        let handle = statement.sqliteStatement
        let result = try whileBound(values) { sqlite3_step(handle) }
        sqlite3_reset(handle)
        guard result == SQLITE_DONE else { throw error(result) }
    }

    /// Binds `values` and returns the first column of the first row as an integer, or nil
    /// when there is no row.
    func fetchInteger(_ values: BulkValue...) throws -> Int64? {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        return try whileBound(values) {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
            case SQLITE_DONE: return nil
            case let code: throw error(code)
            }
        }
    }

    /// Binds `values` and calls `body` with each result row, read straight from SQLite: a
    /// million-row read spends most of its time converting through `Row` otherwise.
    func forEachRow(_ values: BulkValue..., body: (BulkRow) throws -> Void) throws {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        try whileBound(values) {
            while true {
                switch sqlite3_step(handle) {
                case SQLITE_ROW: try body(BulkRow(handle: handle))
                case SQLITE_DONE: return
                case let code: throw error(code)
                }
            }
        }
    }

    /// Binds `values` and runs `body` while they stay bound. Text is bound in place
    /// (SQLITE_STATIC): `body` runs inside every string's `withUTF8`, so SQLite reads the
    /// strings' own bytes instead of copying each into a buffer of its own.
    private func whileBound<R>(_ values: [BulkValue], _ body: () throws -> R) throws -> R {
        try values.withUnsafeBufferPointer { values in try whileBound(values, from: 0, body) }
    }

    private func whileBound<R>(_ values: UnsafeBufferPointer<BulkValue>, from position: Int, _ body: () throws -> R) throws -> R {
        guard position < values.count else { return try body() }
        let handle = statement.sqliteStatement
        let index = Int32(position + 1)
        let code: Int32
        switch values[position] {
        case .text(var text):
            return try text.withUTF8 { utf8 in
                let code = utf8.withMemoryRebound(to: CChar.self) { chars in
                    // An empty string has no storage to point at: SQLite copies its zero bytes.
                    guard let start = chars.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
                    return sqlite3_bind_text(handle, index, start, Int32(chars.count), Self.static)
                }
                guard code == SQLITE_OK else { throw error(code) }
                return try whileBound(values, from: position + 1, body)
            }
        case .integer(let integer): code = sqlite3_bind_int64(handle, index, integer)
        case .real(let real): code = sqlite3_bind_double(handle, index, real)
        case .null: code = sqlite3_bind_null(handle, index)
        }
        guard code == SQLITE_OK else { throw error(code) }
        return try whileBound(values, from: position + 1, body)
    }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                      sql: statement.sql)
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes, which live only for the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    /// SQLITE_STATIC: SQLite reads the bytes in place; they must outlive the step.
    private static let `static` = unsafeBitCast(0, to: sqlite3_destructor_type.self)
}

enum BulkValue {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null

    static func text(_ value: String?) -> BulkValue { value.map { .text($0) } ?? .null }
    static func integer<I: BinaryInteger>(_ value: I?) -> BulkValue { value.map { .integer(Int64($0)) } ?? .null }
}

/// The current row of a `BulkStatement` query; columns are 0-based.
struct BulkRow {
    let handle: OpaquePointer

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func real(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
}
