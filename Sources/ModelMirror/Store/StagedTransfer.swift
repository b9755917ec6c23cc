import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A transfer being written into `<store>/staging/`. The SHA-256 (and, for small files, the
/// git blob SHA-1) runs over the same bytes as they are written, so a completed transfer is
/// never read back to be checked. Owned by the one task that fills it; not Sendable.
///
/// The file is held with an exclusive `flock`, so two lineage processes never write the same
/// staging file; the lock dies with the process, so a `kill -9` leaves a resumable file.
public final class StagedTransfer {
    public let key: StagingKey
    public let url: URL
    /// Bytes staged so far: where the next byte goes, and the `Range` offset to ask for.
    public private(set) var offset: Int64
    /// Bytes found staged when this run opened the file.
    public let resumedFrom: Int64
    /// The size git hashes into the blob header; set when a git object id is expected.
    let gitSize: Int64?

    private var fd: Int32
    private var sha256 = SHA256()
    private var git: GitBlobHasher?
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    /// Bytes written since the kernel was last asked to start writing them back.
    private var unsubmitted = 0
    private var submittedUpTo: Int64 = 0

    /// Writes go to disk in pieces this large: few system calls, a flat memory footprint.
    static let bufferSize = 1 << 20

    /// Off only in the benchmark that measures what inline hashing costs; every transfer the
    /// store makes digests.
    private let digesting: Bool

    package init(key: StagingKey, url: URL, gitSize: Int64?, digesting: Bool = true) throws(BlobStoreError) {
        self.key = key
        self.url = url
        self.gitSize = gitSize
        self.digesting = digesting
        let fd = Glibc.open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open", path: url.path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(fd)
            if code == EWOULDBLOCK { throw .busy(key: key.name, path: url.path) }
            throw .io(operation: "lock", path: url.path, errno: code)
        }
        self.fd = fd
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 4096)
        git = gitSize.map { GitBlobHasher(size: $0) }
        // Resume: the staged prefix was written by a run that died before it finished; hash
        // it once more so the digest continues from its offset (the bytes after it are the
        // only ones fetched again).
        var position: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, Self.bufferSize)
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                buffer.deallocate()
                Glibc.close(fd)
                throw .io(operation: "read", path: url.path, errno: code)
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            sha256.update(bufferPointer: chunk)
            git?.update(chunk)
            position += Int64(count)
        }
        offset = position
        resumedFrom = position
    }

    deinit {
        // A transfer abandoned on a network fault keeps what it received: the next run
        // resumes after it.
        if fd >= 0 {
            try? flush()
            Glibc.close(fd)
        }
        buffer.deallocate()
    }

    /// Appends bytes: hashed now, written in 1 MiB pieces.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(BlobStoreError) {
        guard !bytes.isEmpty else { return }
        if digesting {
            sha256.update(bufferPointer: bytes)
            git?.update(bytes)
        }
        offset += Int64(bytes.count)
        var remaining = bytes
        while !remaining.isEmpty {
            let room = Self.bufferSize - buffered
            let take = min(room, remaining.count)
            UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: remaining[0..<take]))
            buffered += take
            remaining = UnsafeRawBufferPointer(rebasing: remaining[take...])
            if buffered == Self.bufferSize { try flush() }
        }
    }

    public func append(_ bytes: [UInt8]) throws(BlobStoreError) {
        var failure: BlobStoreError?
        bytes.withUnsafeBytes { raw in
            do throws(BlobStoreError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes buffered bytes to the file (not to stable storage: that is `commit`'s fsync).
    public func flush() throws(BlobStoreError) {
        var start = 0
        while start < buffered {
            let written = write(fd, buffer.baseAddress! + start, buffered - start)
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == ENOSPC || code == EDQUOT { throw .diskFull(path: url.path) }
                throw .io(operation: "write", path: url.path, errno: code)
            }
            start += written
        }
        unsubmitted += buffered
        buffered = 0
        // Start the writeback of each 64 MiB as it lands, so the fsync that commits a
        // verified file finds most of it on disk already. On Linux POSIX_FADV_DONTNEED starts
        // an asynchronous writeback of the range's dirty pages and drops the clean ones: a
        // bulk mirror neither stalls on one big fsync at the end nor floods the page cache.
        if unsubmitted >= 64 << 20 {
            let end = offset
            _ = posix_fadvise(fd, off_t(submittedUpTo), off_t(end - submittedUpTo), POSIX_FADV_DONTNEED)
            submittedUpTo = end
            unsubmitted = 0
        }
    }

    /// Starts over from byte 0: the upstream ignored our Range request, or the staged prefix
    /// cannot be right.
    public func restart() throws(BlobStoreError) {
        buffered = 0
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw .io(operation: "truncate", path: url.path, errno: errno)
        }
        sha256 = SHA256()
        git = gitSize.map { GitBlobHasher(size: $0) }
        offset = 0
        submittedUpTo = 0
        unsubmitted = 0
    }

    struct Digests {
        let sha256: SHA256Digest
        let gitOID: GitObjectID?
        let size: Int64
    }

    /// Flushes the buffer and returns the digests of everything staged. The file stays
    /// locked until `close`, so nobody else can write it between the check and the rename.
    func finish() throws(BlobStoreError) -> Digests {
        try flush()
        return Digests(sha256: SHA256Digest(sha256.finalize()), gitOID: git?.finalize(), size: offset)
    }

    /// Forces the staged bytes to stable storage (only ever for bytes that verified).
    func synchronize() throws(BlobStoreError) {
        if fsync(fd) != 0 {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw .diskFull(path: url.path) }
            throw .io(operation: "fsync", path: url.path, errno: code)
        }
    }

    /// Deletes the staged bytes (the disk filled up: keeping them would keep the store full).
    public func discard() {
        close()
        unlink(url.path)
    }

    /// Closes the file (and so releases the lock).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
