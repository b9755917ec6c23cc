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

    /// Binds one row's values (1-based positions, in the order of the SQL's `?`) and runs it.
    func execute(_ values: BulkValue...) throws {
        let handle = statement.sqliteStatement
        for (position, value) in values.enumerated() {
            let index = Int32(position + 1)
            let code: Int32
            switch value {
            case .text(var text):
                code = text.withUTF8 { utf8 in
                    utf8.withMemoryRebound(to: CChar.self) { chars in
                        guard let start = chars.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
                        return sqlite3_bind_text(handle, index, start, Int32(chars.count), Self.transient)
                    }
                }
            case .integer(let integer): code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real): code = sqlite3_bind_double(handle, index, real)
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
        let result = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard result == SQLITE_DONE else { throw error(result) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                      sql: statement.sql)
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes, which live only for the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

enum BulkValue {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null

    static func text(_ value: String?) -> BulkValue { value.map { .text($0) } ?? .null }
    static func integer<I: BinaryInteger>(_ value: I?) -> BulkValue { value.map { .integer(Int64($0)) } ?? .null }
}
