import Dispatch
import Foundation
import GGUF
import WeightFormats

/// Quantizes a run of rows on several threads, the way llama-quantize's
/// llama_tensor_quantize_impl does: the rows are cut into chunks of at least 16,384 elements
/// and each worker takes the next chunk until none is left. Rows are independent, so the bytes
/// do not depend on the thread count.
struct ParallelRowQuantizer {
    /// llama-quant.cpp's min_chunk_size (32 * 512).
    static let minimumChunkElements = 16_384

    let threads: Int

    /// Fills `output` with `rowCount` quantized rows of `rowLength` elements. `read(first, count,
    /// into)` loads rows `first..<first+count` (relative to this run) as floats; it is called
    /// concurrently for disjoint rows.
    func run(
        rowCount: Int, rowLength: Int, type: GGMLType, output: UnsafeMutableRawBufferPointer,
        read: @escaping @Sendable (Int, Int, UnsafeMutableBufferPointer<Float>) throws -> Void
    ) throws {
        guard rowCount > 0 else { return }
        guard let rowBytes = type.rowSize(elements: rowLength), output.count >= rowBytes * rowCount else {
            throw QuantizationError("\(rowCount) rows of \(rowLength) \(type) elements do not fit the output buffer")
        }
        let rowsPerChunk = max(1, (Self.minimumChunkElements + rowLength - 1) / rowLength)
        let chunkCount = (rowCount + rowsPerChunk - 1) / rowsPerChunk
        let workers = min(threads, chunkCount)
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: workers * rowsPerChunk * rowLength)
        defer { scratch.deallocate() }
        let queue = ChunkQueue(count: chunkCount)

        // Raw pointers are not Sendable; each worker only touches its own scratch slice and
        // its own chunks' rows of `output`.
        let buffers = UncheckedSendable(value: (scratch: scratch, output: output))
        let work: @Sendable (Int) -> Void = { worker in
            let (scratch, output) = buffers.value
            let mine = UnsafeMutableBufferPointer(rebasing: scratch[(worker * rowsPerChunk * rowLength)..<((worker + 1) * rowsPerChunk * rowLength)])
            while let chunk = queue.next() {
                let first = chunk * rowsPerChunk
                let count = min(rowsPerChunk, rowCount - first)
                do {
                    let floats = UnsafeMutableBufferPointer(rebasing: mine[0..<(count * rowLength)])
                    try read(first, count, floats)
                    for r in 0..<count {
                        let row = UnsafeBufferPointer(rebasing: floats[(r * rowLength)..<((r + 1) * rowLength)])
                        let slot = UnsafeMutableRawBufferPointer(rebasing: output[((first + r) * rowBytes)..<((first + r + 1) * rowBytes)])
                        try GGMLQuantizer.quantizeRow(row, as: type, into: slot)
                    }
                } catch {
                    queue.fail(error)
                    return
                }
            }
        }
        if workers == 1 {
            work(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers, execute: work)
        }
        if let error = queue.error { throw error }
    }
}

/// Hands out chunk numbers to workers; the first error stops everyone.
private final class ChunkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var nextChunk = 0
    private var firstError: Error?

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard firstError == nil, nextChunk < count else { return nil }
        nextChunk += 1
        return nextChunk - 1
    }

    func fail(_ error: Error) {
        lock.lock()
        if firstError == nil { firstError = error }
        lock.unlock()
    }

    /// The first failure, if any worker failed.
    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return firstError
    }
}

/// Hands values the compiler cannot prove thread-safe (raw buffers) to worker closures whose
/// accesses are disjoint by construction.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
