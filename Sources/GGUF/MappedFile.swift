import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// Reading a multi-gigabyte checkpoint's header through a mapping touches only the pages that
/// are parsed; tensor data is paged in by the kernel when a kernel reads it. The mapping is
/// never written, so sharing it across threads is safe.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    /// File size in bytes.
    public let count: Int
    private let base: UnsafeRawPointer?

    /// Maps `url`. A zero-length file gets an empty buffer (mmap rejects length 0).
    public init(url: URL) throws(MappedFileError) {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw MappedFileError(path: path, operation: "open", errno: errno)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw MappedFileError(path: path, operation: "stat", errno: errno)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw MappedFileError(path: path, operation: "open (not a regular file)", errno: EINVAL)
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw MappedFileError(path: path, operation: "mmap", errno: errno)
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole file. Valid only while this object is alive: keep a reference for as long as
    /// the buffer (or anything derived from it) is used.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Drops this process's mapped pages of `range` (rounded out to whole pages) from its
    /// resident set. The data stays in the page cache and is paged back in if read again, so
    /// this is only about memory: a converter that has finished with a tensor calls it so that
    /// a multi-gigabyte checkpoint never becomes resident all at once.
    public func releasePages(in range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = max(0, range.lowerBound) / page * page
        let end = min(count, (range.upperBound + page - 1) / page * page)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// A sub-range of the file, with the same lifetime rule as `bytes`.
    public func bytes(in range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside file")
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }
}

/// Opening or mapping a file failed at the operating-system level.
public struct MappedFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let operation: String
    public let errno: Int32

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno)); check that the file exists and is readable"
    }
}
