import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// File-scope wrappers: inside FileSink, `close`/`write` would resolve to its own methods.
private func posixClose(_ fd: Int32) -> Int32 { close(fd) }
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// A buffered, append-only POSIX file writer. Small writes (headers, padding) are gathered in a
/// 1 MiB buffer; large writes (tensor data) go straight to the file after a flush, so a writer
/// never copies a whole tensor.
final class FileSink: GGUFByteSink {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    private(set) var bytesWritten: UInt64 = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw GGUFError(
                .io, file: path, message: "cannot create file: \(String(cString: strerror(errno)))",
                hint: "check that the directory exists and is writable")
        }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if fd >= 0 { _ = posixClose(fd) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count <= bufferLimit {
            buffer.append(contentsOf: bytes)
        } else {
            try flush()
            try writeAll(bytes)
        }
        bytesWritten += UInt64(bytes.count)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and closes the file.
    func close() throws {
        try flush()
        if fsync(fd) != 0 {
            throw GGUFError(.io, file: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        let result = posixClose(fd)
        fd = -1
        if result != 0 {
            throw GGUFError(.io, file: path, message: "close failed: \(String(cString: strerror(errno)))")
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = posixWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw GGUFError(
                    .io, file: path, offset: bytesWritten,
                    message: "write failed: \(String(cString: strerror(errno)))",
                    hint: "check free disk space")
            }
            p += n
            left -= n
        }
    }
}
