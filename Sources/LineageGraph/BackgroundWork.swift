import Foundation

/// Work started on a thread of its own and awaited from synchronous code: the store's writes
/// run inside SQLite's transaction callbacks, which cannot await, yet a large import has CPU
/// work (sorting keys, checking for cycles) that the second core can do while SQLite inserts;
/// and a child process's pipes must be drained while its other pipes are written or read.
public final class BackgroundWork<Result: Sendable>: @unchecked Sendable {
    // Written once by the worker thread before `done` is signalled; read after waiting.
    private var result: Result?
    private let done = DispatchSemaphore(value: 0)

    public init(_ work: @escaping @Sendable () -> Result) {
        Thread.detachNewThread { [self] in
            result = work()
            done.signal()
        }
    }

    public func wait() -> Result {
        done.wait()
        return result!
    }
}
