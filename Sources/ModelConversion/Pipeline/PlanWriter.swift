import Dispatch
import Foundation
import GGUF
import WeightFormats

extension ConversionPlan {
    /// Writes the GGUF: tensor by tensor from the memory-mapped checkpoint, each tensor in
    /// batches of rows quantized on `options.threads` threads. While one batch is written the
    /// next is computed, so memory holds two batches (`options.batchBytes` each) and whatever
    /// checkpoint pages the current batch reads; pages of finished rows are released. The file
    /// appears under `output` only when complete (GGUFWriter writes a temporary and renames).
    public func write(to output: URL, options: ConversionOptions,
                      progress: ((ConversionProgress) -> Void)? = nil) throws -> ConversionSummary {
        let writer = try GGUFWriter(url: output, keyValues: keyValues, tensors: descriptors)
        var summary = try write(with: writer, options: options, progress: progress)
        summary.outputBytes = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.uint64Value ?? 0
        return summary
    }

    /// Streams the same bytes into `sink` (the mirror store's staged, hashed write), in file
    /// order; `name` labels errors. The sink's owner makes the result durable and visible.
    public func write(into sink: any GGUFByteSink, name: String, options: ConversionOptions,
                      progress: ((ConversionProgress) -> Void)? = nil) throws -> ConversionSummary {
        let writer = try GGUFWriter(sink: sink, name: name, keyValues: keyValues, tensors: descriptors)
        var summary = try write(with: writer, options: options, progress: progress)
        summary.output = URL(fileURLWithPath: name)
        summary.outputBytes = writer.tensors.last.map { writer.dataOffset + $0.offset + GGUFReader.padded($0.byteCount, to: writer.alignment) }
            ?? writer.dataOffset
        return summary
    }

    private var descriptors: [GGUFTensorDescriptor] {
        tensors.map { GGUFTensorDescriptor(name: $0.name, dimensions: $0.dimensions, type: $0.type) }
    }

    private func write(with writer: GGUFWriter, options: ConversionOptions,
                       progress: ((ConversionProgress) -> Void)?) throws -> ConversionSummary {
        let started = Date()
        let output = writer.url
        let pipeline = WritePipeline(writer: writer, batchBytes: options.batchBytes)
        defer { pipeline.close() }
        let quantizer = ParallelRowQuantizer(threads: options.threads)
        let totalBytes = inputBytes
        var bytesDone = 0

        for (index, tensor) in tensors.enumerated() {
            var report = ConversionProgress(
                tensorIndex: index, tensorCount: tensors.count, tensorName: tensor.name, tensorType: "\(tensor.type)",
                tensorBytesDone: 0, tensorBytes: tensor.inputBytes, bytesDone: bytesDone, totalBytes: totalBytes)
            try writeTensor(tensor, pipeline: pipeline, quantizer: quantizer) { done in
                report.tensorBytesDone = done
                report.bytesDone = bytesDone + done
                progress?(report)
            }
            bytesDone += tensor.inputBytes
        }
        try pipeline.drain()
        try writer.finish()

        var counts: [String: Int] = [:]
        for t in tensors { counts["\(t.type)", default: 0] += 1 }
        return ConversionSummary(
            output: output, preset: preset, tensorCount: tensors.count, inputBytes: totalBytes, outputBytes: 0,
            typeCounts: counts, seconds: Date().timeIntervalSince(started), warnings: warnings)
    }

    private func writeTensor(
        _ tensor: PlannedTensor, pipeline: WritePipeline, quantizer: ParallelRowQuantizer, advanced: (Int) -> Void
    ) throws {
        let rowLength = tensor.rowLength
        let rowCount = tensor.rowCount
        guard let rowBytes = tensor.type.rowSize(elements: rowLength) else {
            throw QuantizationError("\(tensor.name): row length \(rowLength) is not whole \(tensor.type) blocks")
        }
        switch tensor.source {
        case .values(let values):
            let buffer = try pipeline.nextBuffer(bytes: rowBytes)
            try values.withUnsafeBufferPointer { try GGMLQuantizer.quantizeRow($0, as: tensor.type, into: buffer) }
            try pipeline.submit(buffer)
            advanced(tensor.inputBytes)

        case .checkpoint(let name, let order):
            guard let (file, info) = checkpoint.locate(name) else {
                throw ConversionError(.missingTensor, subject: "tensor '\(name)'", message: "the checkpoint no longer has this tensor")
            }
            if rowCount == 1, order != .identity {
                // A 1-D bias of a permuted or regrouped projection: the order moves elements, not rows.
                var values = [Float](repeating: 0, count: rowLength)
                try values.withUnsafeMutableBufferPointer { try file.readRow(0, of: info, into: $0) }
                let permuted = (0..<rowLength).map { values[order.sourceRow($0)] }
                let buffer = try pipeline.nextBuffer(bytes: rowBytes)
                try permuted.withUnsafeBufferPointer { try GGMLQuantizer.quantizeRow($0, as: tensor.type, into: buffer) }
                try pipeline.submit(buffer)
                advanced(tensor.inputBytes)
                return
            }
            // Per source row: a part of a split tensor (Baichuan's W_pack) has fewer rows than its source.
            let inputRowBytes = info.byteCount / max(1, info.rowCount)
            let rowsPerBatch = max(1, min(rowCount, pipeline.batchBytes / max(1, rowBytes)))
            var first = 0
            while first < rowCount {
                let count = min(rowsPerBatch, rowCount - first)
                let buffer = try pipeline.nextBuffer(bytes: count * rowBytes)
                let base = first
                try quantizer.run(rowCount: count, rowLength: rowLength, type: tensor.type, output: buffer) { start, n, floats in
                    if order == .identity {
                        try file.readElements(of: info, from: (base + start) * rowLength, into: floats)
                    } else {
                        for r in 0..<n {
                            let row = UnsafeMutableBufferPointer(rebasing: floats[(r * rowLength)..<((r + 1) * rowLength)])
                            try file.readRow(order.sourceRow(base + start + r), of: info, into: row)
                        }
                    }
                }
                try pipeline.submit(buffer)
                if order == .identity { file.releasePages(of: info, rows: first..<(first + count)) }
                first += count
                advanced(min(tensor.inputBytes, first * inputRowBytes))
            }
            if order != .identity { file.releasePages(of: info, rows: 0..<info.rowCount) }
        }
    }
}

/// Two output buffers and a writer thread: batch k is written while batch k+1 is computed.
/// GGUFWriter is not thread-safe, so only the writer queue touches it between `submit` and
/// `drain`, and never two writes at once.
private final class WritePipeline: @unchecked Sendable {
    let writer: GGUFWriter
    let batchBytes: Int
    private let queue = DispatchQueue(label: "lineage.gguf-write")
    private let inFlight = DispatchGroup()
    private var buffers: [UnsafeMutableRawBufferPointer]
    private var capacities: [Int]
    private var current = 0
    private var writeError: Error?

    init(writer: GGUFWriter, batchBytes: Int) {
        self.writer = writer
        self.batchBytes = batchBytes
        buffers = [UnsafeMutableRawBufferPointer(start: nil, count: 0), UnsafeMutableRawBufferPointer(start: nil, count: 0)]
        capacities = [0, 0]
    }

    /// The next free buffer, `bytes` long. The write that last used it finished before the
    /// previous submit returned, so it can be filled at once.
    func nextBuffer(bytes: Int) throws -> UnsafeMutableRawBufferPointer {
        if capacities[current] < bytes {
            buffers[current].deallocate()
            let capacity = max(bytes, min(batchBytes, 1 << 20))
            buffers[current] = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
            capacities[current] = capacity
        }
        return UnsafeMutableRawBufferPointer(rebasing: buffers[current][0..<bytes])
    }

    /// Waits for the previous write, then hands `buffer` to the writer thread.
    func submit(_ buffer: UnsafeMutableRawBufferPointer) throws {
        try drain()
        let bytes = UncheckedSendable(value: UnsafeRawBufferPointer(buffer))
        inFlight.enter()
        queue.async { [self] in
            do {
                try writer.writeTensorData(bytes.value)
            } catch {
                writeError = error
            }
            inFlight.leave()
        }
        current ^= 1
    }

    /// Waits for the write in flight and reports its failure.
    func drain() throws {
        inFlight.wait()
        if let writeError { throw writeError }
    }

    func close() {
        inFlight.wait()
        for b in buffers { b.deallocate() }
    }
}
