import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement executed once per row with values bound straight to SQLite. A
/// million-row import spends most of its time building and checking `StatementArguments`
/// otherwise; here a row costs what SQLite itself costs.
struct BulkStatement {
    private let statement: Statement
    private let connection: OpaquePointer
    private let scratch = TextScratch()

    init(_ db: Database, sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        connection = db.sqliteConnection!
    }

    /// Binds one row's values (in the order of the SQL's `?`) and runs it.
    func execute(_ values: [BulkValue]) throws {
        let handle = statement.sqliteStatement
        try bind(values)
        let result = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard result == SQLITE_DONE else { throw error(result) }
    }

    /// Binds `values` and returns the first column of the first row as an integer, or nil
    /// when there is no row.
    func fetchInteger(_ values: BulkValue...) throws -> Int64? {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        try bind(values)
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        case let code: throw error(code)
        }
    }

    /// Binds `values` and calls `body` with each result row, read straight from SQLite: a
    /// million-row read spends most of its time converting through `Row` otherwise.
    func forEachRow(_ values: BulkValue..., body: (BulkRow) throws -> Void) throws {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        try bind(values)
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: try body(BulkRow(handle: handle))
            case SQLITE_DONE: return
            case let code: throw error(code)
            }
        }
    }

    /// Binds `values`. Text goes through `scratch`: every string of the row is copied into
    /// that one block of memory, which this statement keeps from row to row, and bound in
    /// place (SQLITE_STATIC). SQLite would otherwise allocate, copy and free each string of
    /// every row itself.
    private func bind(_ values: [BulkValue]) throws {
        let handle = statement.sqliteStatement
        var textBytes = 0
        for value in values { if case .text(let text) = value { textBytes += text.utf8.count } }
        // Sized before any pointer into it is bound: it must not move while the row is bound.
        let base = scratch.reserve(textBytes)
        var offset = 0
        for (position, value) in values.enumerated() {
            let index = Int32(position + 1)
            let code: Int32
            switch value {
            case .text(let text):
                let start = base + offset
                let count = Self.copyUTF8(of: text, to: start)
                offset += count
                code = sqlite3_bind_text(handle, index, start.assumingMemoryBound(to: CChar.self), Int32(count), Self.static)
            case .integer(let integer): code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real): code = sqlite3_bind_double(handle, index, real)
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
    }

    /// Copies `text`'s UTF-8 to `destination`; returns how many bytes.
    private static func copyUTF8(of text: String, to destination: UnsafeMutableRawPointer) -> Int {
        if let count = text.utf8.withContiguousStorageIfAvailable({ utf8 in
            if let start = utf8.baseAddress { destination.copyMemory(from: start, byteCount: utf8.count) }
            return utf8.count
        }) { return count }
        var copy = text
        return copy.withUTF8 { utf8 in
            if let start = utf8.baseAddress { destination.copyMemory(from: start, byteCount: utf8.count) }
            return utf8.count
        }
    }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                      sql: statement.sql)
    }

    /// SQLITE_STATIC: SQLite reads the bytes in place; they must outlive the step.
    private static let `static` = unsafeBitCast(0, to: sqlite3_destructor_type.self)
}

/// The memory a `BulkStatement` copies a row's text into: kept between rows, grown when a
/// row needs more, never moved while a row is bound (see `BulkStatement.bind`).
private final class TextScratch {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int

    init() {
        capacity = 4096
        base = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit { base.deallocate() }

    /// At least `byteCount` bytes; what was there before is not kept.
    func reserve(_ byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount > capacity {
            base.deallocate()
            capacity = max(byteCount, capacity * 2)
            base = .allocate(byteCount: capacity, alignment: 1)
        }
        return base
    }
}

/// An INSERT of many rows per statement: rows are gathered and written `rowsPerStatement`
/// at a time, so SQLite starts and finishes one statement per batch instead of one per row
/// (a third of a million-row insert). What is left at the end goes one row at a time.
/// Call `flush()` before anything that must see the rows.
struct BulkInsert {
    private let batch: BulkStatement
    private let single: BulkStatement
    private let columns: Int
    private let rowsPerStatement: Int
    private var pending: [BulkValue] = []

    /// `prefix`: `INSERT INTO table (columns) VALUES`, to which the placeholders are added.
    init(_ db: Database, prefix: String, columns: Int, rowsPerStatement: Int = 64) throws {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        batch = try BulkStatement(db, sql: prefix + " " + Array(repeating: row, count: rowsPerStatement).joined(separator: ", "))
        single = try BulkStatement(db, sql: prefix + " " + row)
        self.columns = columns
        self.rowsPerStatement = rowsPerStatement
        pending.reserveCapacity(columns * rowsPerStatement)
    }

    mutating func add(_ row: [BulkValue]) throws {
        precondition(row.count == columns, "a row of \(row.count) values for \(columns) columns")
        pending.append(contentsOf: row)
        if pending.count == columns * rowsPerStatement {
            try batch.execute(pending)
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Writes the rows still gathered.
    mutating func flush() throws {
        for start in stride(from: 0, to: pending.count, by: columns) {
            try single.execute(Array(pending[start..<(start + columns)]))
        }
        pending.removeAll(keepingCapacity: true)
    }
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
        utf8(column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A column whose values repeat (licenses, kinds, relations): equal values share one string.
    func text(_ column: Int32, interning interner: inout TextInterner) -> String? {
        utf8(column).map { interner.intern($0) }
    }

    /// The column's UTF-8, valid until the row changes; nil for NULL.
    func utf8(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func real(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
}

/// Hands out one string per distinct short text. A million-row read of a column with a
/// handful of values (a license, a kind) otherwise allocates a million copies of them, and
/// whatever walks the result afterwards reads them from all over the heap. A small hash
/// table of recent values: a value that misses replaces its slot's, so memory stays bounded
/// whatever the column holds.
struct TextInterner {
    private var slots = [String?](repeating: nil, count: 1024)

    mutating func intern(_ utf8: UnsafeBufferPointer<UInt8>) -> String {
        // Long texts are seldom repeated; hashing them would cost more than it saves.
        guard utf8.count <= 64 else { return String(decoding: utf8, as: UTF8.self) }
        var hash: UInt32 = 2_166_136_261  // FNV-1a
        for byte in utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let slot = Int(hash & UInt32(slots.count - 1))
        if let known = slots[slot], Self.equal(known, utf8) { return known }
        let text = String(decoding: utf8, as: UTF8.self)
        slots[slot] = text
        return text
    }

    private static func equal(_ text: String, _ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        var text = text
        return text.withUTF8 { stored in
            stored.count == utf8.count && (stored.count == 0 || memcmp(stored.baseAddress!, utf8.baseAddress!, stored.count) == 0)
        }
    }
}
