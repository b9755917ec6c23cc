import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The embedded blob store: files under a directory.
///
/// ```
/// blobs/sha256/ab/cd/<hex>   verified contents, written once, read-only
/// staging/<key>.part         transfers in flight (and what a killed run left to resume)
/// quarantine/<actual>-<time> bytes that failed verification, kept for inspection
/// ```
/// Every state change is a rename within one filesystem, so a crash leaves either the old or
/// the new state. Holds no mutable state, so one value serves every task.
public struct LocalBlobStore: BlobStore {
    public let root: URL
    public var blobsDirectory: URL { root.appendingPathComponent("blobs/sha256") }
    public var stagingDirectory: URL { root.appendingPathComponent("staging") }
    public var quarantineDirectory: URL { root.appendingPathComponent("quarantine") }

    public init(root: URL) throws(BlobStoreError) {
        self.root = root
        for directory in [blobsDirectory, stagingDirectory, quarantineDirectory] {
            try makeDirectory(directory)
        }
    }

    /// `blobs/sha256/ab/cd/<hex>`: two levels of 256 fan-out keep directories small at
    /// millions of blobs.
    public func path(of digest: SHA256Digest) -> URL {
        let hex = digest.hex
        let first = hex.prefix(2)
        let second = hex.dropFirst(2).prefix(2)
        return blobsDirectory.appendingPathComponent("\(first)/\(second)/\(hex)")
    }

    public func has(_ digest: SHA256Digest) -> Bool {
        var info = stat()
        return stat(path(of: digest).path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    public func open(_ digest: SHA256Digest) throws(BlobStoreError) -> FileHandle {
        let url = path(of: digest)
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw .notFound(digest, path: url.path) }
        return handle
    }

    public func localFile(_ digest: SHA256Digest) -> URL? { has(digest) ? path(of: digest) : nil }

    public func stage(_ key: StagingKey) throws(BlobStoreError) -> StagedTransfer {
        try stage(key, gitSize: nil)
    }

    /// Stages with a git blob hash running too (the size goes into git's header).
    public func stage(_ key: StagingKey, gitSize: Int64?) throws(BlobStoreError) -> StagedTransfer {
        try StagedTransfer(key: key, url: stagingDirectory.appendingPathComponent("\(key.name).part"), gitSize: gitSize)
    }

    public func commit(
        _ transfer: StagedTransfer, expecting expectation: Expectation, inspect: (URL) throws -> Void = { _ in }
    ) throws(BlobStoreError) -> CommittedBlob {
        let digests: StagedTransfer.Digests
        do {
            digests = try transfer.finish()
        } catch {
            transfer.close()
            if case .diskFull = error { unlink(transfer.url.path) }
            throw error
        }
        let sizeMatches = expectation.size.map { $0 == digests.size } ?? true
        let shaMatches = expectation.sha256.map { $0 == digests.sha256 } ?? true
        let gitMatches = expectation.gitOID.map { $0 == digests.gitOID } ?? true
        guard sizeMatches, shaMatches, gitMatches else {
            let location = try moveToQuarantine(transfer, actual: digests.sha256)
            let actual = expectation.sha256 != nil || digests.gitOID == nil
                ? "sha256:\(digests.sha256.hex)" : "git sha1 \(digests.gitOID!.hex) (sha256:\(digests.sha256.hex))"
            throw .verificationFailed(VerificationFailure(
                expected: expectation.expectedDescription, actual: actual,
                expectedSize: expectation.size, actualSize: digests.size, quarantinedAt: location))
        }
        let target = path(of: digests.sha256)
        if has(digests.sha256) {
            // Another repo or run stored the same bytes first: written once, whoever shares them.
            transfer.close()
            unlink(transfer.url.path)
            return CommittedBlob(digest: digests.sha256, size: digests.size, gitOID: digests.gitOID, newlyStored: false)
        }
        do {
            try inspect(transfer.url)
        } catch {
            let location = try moveToQuarantine(transfer, actual: digests.sha256)
            throw .refused(reason: "\(error)", quarantinedAt: location)
        }
        do {
            try transfer.synchronize()
        } catch {
            transfer.close()
            if case .diskFull = error { unlink(transfer.url.path) }
            throw error
        }
        let directory = target.deletingLastPathComponent()
        try makeDirectory(directory)
        // Stored blobs are read-only: nothing in lineage writes them again, and a hard link in
        // the cache view must not let a careless editor change the store.
        chmod(transfer.url.path, 0o444)
        guard rename(transfer.url.path, target.path) == 0 else {
            let code = errno
            transfer.close()
            throw .io(operation: "rename into the store", path: target.path, errno: code)
        }
        transfer.close()
        syncDirectory(directory)
        return CommittedBlob(digest: digests.sha256, size: digests.size, gitOID: digests.gitOID, newlyStored: true)
    }

    public func commitProduced(_ transfer: StagedTransfer, inspect: (URL) throws -> Void) throws -> CommittedBlob {
        let digests: StagedTransfer.Digests
        do {
            digests = try transfer.finish()
            try inspect(transfer.url)
        } catch {
            transfer.discard()
            throw error
        }
        // Named by the digest of the bytes as they were written: the expectation is the
        // bytes' own digest, so the shared commit path only adds the durable rename.
        return try commit(transfer, expecting: Expectation(sha256: digests.sha256, size: digests.size))
    }

    private func moveToQuarantine(_ transfer: StagedTransfer, actual: SHA256Digest) throws(BlobStoreError) -> String {
        transfer.close()
        let target = quarantineDirectory.appendingPathComponent(Self.quarantineName(actual))
        guard rename(transfer.url.path, target.path) == 0 else {
            throw .io(operation: "move to quarantine", path: target.path, errno: errno)
        }
        return target.path
    }

    public func quarantineStored(_ digest: SHA256Digest) throws(BlobStoreError) -> String {
        let target = quarantineDirectory.appendingPathComponent(Self.quarantineName(digest))
        guard rename(path(of: digest).path, target.path) == 0 else {
            throw .io(operation: "move to quarantine", path: path(of: digest).path, errno: errno)
        }
        return target.path
    }

    private static func quarantineName(_ digest: SHA256Digest) -> String {
        "\(digest.hex)-\(Int(Date().timeIntervalSince1970))-\(UInt32.random(in: 0...UInt32.max))"
    }

    public func delete(_ digest: SHA256Digest) throws(BlobStoreError) {
        let url = path(of: digest)
        if unlink(url.path) != 0, errno != ENOENT { throw .io(operation: "delete", path: url.path, errno: errno) }
    }

    public func list() throws(BlobStoreError) -> [(digest: SHA256Digest, size: Int64)] {
        var result: [(digest: SHA256Digest, size: Int64)] = []
        for first in try entries(blobsDirectory) {
            let firstURL = blobsDirectory.appendingPathComponent(first)
            for second in try entries(firstURL) {
                let secondURL = firstURL.appendingPathComponent(second)
                for name in try entries(secondURL) {
                    guard let digest = SHA256Digest(hex: name) else { continue }
                    var info = stat()
                    if stat(secondURL.appendingPathComponent(name).path, &info) == 0 {
                        result.append((digest, Int64(info.st_size)))
                    }
                }
            }
        }
        return result
    }

    public func staged() throws(BlobStoreError) -> [(key: String, size: Int64, modified: Date)] {
        try entries(stagingDirectory).filter { $0.hasSuffix(".part") }.compactMap { name in
            var info = stat()
            guard stat(stagingDirectory.appendingPathComponent(name).path, &info) == 0 else { return nil }
            return (String(name.dropLast(5)), Int64(info.st_size), Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
        }
    }

    public func discardStaged(_ key: String) throws(BlobStoreError) {
        let url = stagingDirectory.appendingPathComponent("\(key).part")
        // Never pull a file from under a live transfer: take its lock first.
        let fd = Glibc.open(url.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw .busy(key: key, path: url.path) }
        unlink(url.path)
    }

    private func entries(_ directory: URL) throws(BlobStoreError) -> [String] {
        guard let dir = opendir(directory.path) else {
            if errno == ENOENT { return [] }
            throw .io(operation: "list", path: directory.path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private func makeDirectory(_ url: URL) throws(BlobStoreError) {
        if mkdir(url.path, 0o755) == 0 || errno == EEXIST { return }
        if errno == ENOENT {
            try makeDirectory(url.deletingLastPathComponent())
            if mkdir(url.path, 0o755) == 0 || errno == EEXIST { return }
        }
        let code = errno
        if code == ENOSPC { throw .diskFull(path: url.path) }
        throw .io(operation: "create directory", path: url.path, errno: code)
    }

    /// Makes a rename durable: the directory entry itself must reach the disk.
    private func syncDirectory(_ url: URL) {
        let fd = Glibc.open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        Glibc.close(fd)
    }
}
