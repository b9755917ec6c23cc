/// Every node's id as one format writes it (quoted and escaped), rendered once into one block
/// of bytes. An exporter then names an edge's endpoints by node index and copies their bytes:
/// escaping each id again for every edge it ends, and reading the id strings from two
/// threads at once (their reference counts bounce between the cores), was most of the DOT
/// export of a million-edge graph.
struct RenderedIDs: Sendable {
    private let bytes: [UInt8]
    /// Node i's bytes are bytes[ends[i - 1] ..< ends[i]] (from 0 for the first).
    private let ends: [Int]

    /// Renders the ids of `nodes` with `render`; a large graph's two halves on both cores.
    init(of nodes: [LineageNode], _ render: @escaping @Sendable (inout OutputBuffer, String) -> Void) {
        @Sendable func renderRange(_ range: Range<Int>) -> (bytes: [UInt8], ends: [Int]) {
            var out = OutputBuffer(capacity: range.count * 24 + 64)
            var ends: [Int] = []
            ends.reserveCapacity(range.count)
            nodes.withUnsafeBufferPointer { nodes in
                for position in range {
                    render(&out, nodes[position].id)
                    ends.append(out.byteCount)
                }
            }
            return (out.bytes, ends)
        }
        guard nodes.count >= 100_000 else {
            (bytes, ends) = renderRange(nodes.indices)
            return
        }
        let middle = nodes.count / 2
        let secondHalf = BackgroundWork { renderRange(middle..<nodes.count) }
        let (firstBytes, firstEnds) = renderRange(0..<middle)
        let (secondBytes, secondEnds) = secondHalf.wait()
        bytes = firstBytes + secondBytes
        ends = firstEnds + secondEnds.map { $0 + firstBytes.count }
    }

    /// Calls `body` with a writer that appends node `i`'s rendered id to a buffer; the
    /// storage is pinned once for the whole of `body`, not once per id.
    func withWriter<R>(_ body: (Writer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { bytes in
            try ends.withUnsafeBufferPointer { ends in try body(Writer(bytes: bytes, ends: ends)) }
        }
    }

    struct Writer {
        let bytes: UnsafeBufferPointer<UInt8>
        let ends: UnsafeBufferPointer<Int>

        @inline(__always)
        func write(_ node: Int, into out: inout OutputBuffer) {
            out.write(bytes: span(node))
        }

        /// Node `node`'s bytes.
        @inline(__always)
        func span(_ node: Int) -> UnsafeBufferPointer<UInt8> {
            let start = node == 0 ? 0 : ends[node - 1]
            return UnsafeBufferPointer(rebasing: bytes[start..<ends[node]])
        }
    }
}
