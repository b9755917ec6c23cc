import Crypto
import Foundation
import LineageTestSupport
@testable import ModelMirror

/// A scratch directory removed when the test's value goes away.
final class Scratch {
    let url: URL

    init(_ label: String = "mirror") throws {
        url = LineageTestSupport.TestSupport.scratchURL("lineage-\(label)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }
}

func sha256(_ bytes: [UInt8]) -> ModelMirror.SHA256Digest { ModelMirror.SHA256Digest(SHA256.hash(data: bytes)) }

func gitOID(_ bytes: [UInt8]) -> GitObjectID {
    var hasher = GitBlobHasher(size: Int64(bytes.count))
    bytes.withUnsafeBytes { hasher.update($0) }
    return hasher.finalize()
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return bytes
}
