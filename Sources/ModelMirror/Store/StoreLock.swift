import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Keeps `gc` from deleting blobs that a running sync has stored but not yet published:
/// syncs hold `<store>/mirror.lock` shared, gc holds it exclusive. An advisory `flock`, so a
/// killed process never leaves it held.
final class StoreLock {
    private var fd: Int32

    init(root: URL, exclusive: Bool) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let path = root.appendingPathComponent("mirror.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MirrorError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            close(fd)
            throw MirrorError(exclusive
                ? "a sync is running on this store (\(path) is held); run gc when it has finished"
                : "gc is running on this store (\(path) is held); sync when it has finished")
        }
        self.fd = fd
    }

    func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { release() }
}
