import Crypto

/// A SHA-256 digest as 64 lowercase hex digits: the name of every blob in the store and the
/// oid of every LFS object.
public struct SHA256Digest: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let hex: String

    /// Accepts exactly 64 lowercase hex digits (the LFS spec's form); anything else is nil.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy(HexDigits.isLowerHex) else { return nil }
        self.hex = String(hex)
    }

    package init(_ digest: SHA256.Digest) {
        hex = HexDigits.encode(digest)
    }

    public var description: String { "sha256:\(hex)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.hex < rhs.hex }
}

/// A git object id (SHA-1) as 40 lowercase hex digits: the checksum of a small file in a
/// git tree, and the etag the Hub gives such files.
public struct GitObjectID: Hashable, Sendable, CustomStringConvertible {
    public let hex: String

    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy(HexDigits.isLowerHex) else { return nil }
        self.hex = String(hex)
    }

    package init(_ digest: Insecure.SHA1.Digest) {
        hex = HexDigits.encode(digest)
    }

    public var description: String { hex }
}

/// Hashes a file's bytes as git hashes a blob (`blob <size>\0` then the bytes), so a file
/// from the Hub can be checked against the tree's `oid` while it streams.
struct GitBlobHasher {
    private var sha1 = Insecure.SHA1()

    init(size: Int64) {
        sha1.update(data: Array("blob \(size)\u{0}".utf8))
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) { sha1.update(bufferPointer: bytes) }
    func finalize() -> GitObjectID { GitObjectID(sha1.finalize()) }
}

enum HexDigits {
    static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
