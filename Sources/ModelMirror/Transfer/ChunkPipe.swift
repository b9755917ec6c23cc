import NIOCore

/// Hands response chunks from the task that reads the network to the task that hashes and
/// writes them, so the next read overlaps the digest of the last one instead of waiting for
/// it. Bounded: the reader waits while `limit` bytes are queued, so memory stays flat
/// whatever the file size.
actor ChunkPipe {
    private var queue: [ByteBuffer] = []
    private var head = 0
    private var queued = 0
    private let limit: Int
    private var finished = false
    private var failure: (any Error)?
    private var abandoned = false
    private var consumer: CheckedContinuation<ByteBuffer?, any Error>?
    private var producer: CheckedContinuation<Void, Never>?

    private static let empty = ByteBuffer()

    init(limit: Int) { self.limit = limit }

    /// Queues a chunk; returns false once the consumer has given up (stop reading).
    func send(_ buffer: ByteBuffer) async -> Bool {
        guard !abandoned else { return false }
        if let consumer {
            self.consumer = nil
            consumer.resume(returning: buffer)
            return true
        }
        queue.append(buffer)
        queued += buffer.readableBytes
        if queued > limit {
            await withCheckedContinuation { producer = $0 }
        }
        return !abandoned
    }

    /// The body ended (nil) or failed.
    func finish(_ error: (any Error)?) {
        finished = true
        failure = error
        if let consumer {
            self.consumer = nil
            if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: nil) }
        }
    }

    /// The next chunk, or nil at the end of the body.
    func next() async throws -> ByteBuffer? {
        if head < queue.count {
            let buffer = queue[head]
            // Release the slot now: a ByteBuffer keeps its whole backing storage alive, and a
            // queue that never quite drains must not hold every chunk of the file.
            queue[head] = Self.empty
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 256 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            queued -= buffer.readableBytes
            if queued <= limit / 2, let producer {
                self.producer = nil
                producer.resume()
            }
            return buffer
        }
        if finished {
            if let failure { throw failure }
            return nil
        }
        return try await withCheckedThrowingContinuation { consumer = $0 }
    }

    /// The consumer stopped (disk full, too many bytes): release a waiting reader.
    func abandon() {
        abandoned = true
        queue.removeAll()
        head = 0
        queued = 0
        producer?.resume()
        producer = nil
    }
}
