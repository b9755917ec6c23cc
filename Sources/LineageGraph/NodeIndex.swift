/// Node id -> position in the graph's `nodes`: an open-addressing table of (hash tag,
/// position) pairs over the nodes' own id strings.
///
/// A `[String: Int32]` keeps only the keys, so every probe that lands on another id's slot
/// compares the two strings, reading a second string from elsewhere in the heap; building
/// one over a million ids was a fifth of building the graph. Here a probe compares 32 bits
/// of the hash first, and only a matching tag reads the id. The ids are hashed with
/// `String.hashValue` and compared with `==`, exactly as a Dictionary would (so canonically
/// equivalent spellings are one id, and hashing is seeded per process); a large graph's
/// hashes are computed on both cores.
public struct NodeIndex: Sendable {
    /// The nodes' ids, in node order: compared on a tag match. A copy of the strings (not of
    /// their bytes), 16 bytes per node, so that a probe does not touch a whole node.
    private let ids: [String]
    /// Per slot: the high half of the id's hash and its position, or position -1 when empty.
    private let slots: [(tag: UInt32, position: Int32)]
    private let mask: Int

    /// Indexes `nodes`; refuses an id that comes twice.
    init(_ nodes: [LineageNode]) throws(LineageGraph.BuildError) {
        // Read in place: a key path, or copying each node out, costs a call or a retain per field.
        let ids = nodes.withUnsafeBufferPointer { nodes in nodes.indices.map { nodes[$0].id } }
        self.ids = ids
        var capacity = 16
        while capacity < nodes.count * 2 { capacity *= 2 }
        let mask = capacity - 1
        self.mask = mask
        let hashes = Self.hashes(of: ids)
        var slots = [(tag: UInt32, position: Int32)](repeating: (0, -1), count: capacity)
        try ids.withUnsafeBufferPointer { ids throws(LineageGraph.BuildError) in
            try slots.withUnsafeMutableBufferPointer { slots throws(LineageGraph.BuildError) in
                for position in ids.indices {
                    let hash = hashes[position]
                    let tag = UInt32(truncatingIfNeeded: hash >> 32)
                    var slot = hash & mask
                    while slots[slot].position >= 0 {
                        if slots[slot].tag == tag && ids[Int(slots[slot].position)] == ids[position] {
                            throw .duplicateNode(ids[position])
                        }
                        slot = (slot + 1) & mask
                    }
                    slots[slot] = (tag, Int32(position))
                }
            }
        }
        self.slots = slots
    }

    private static func hashes(of ids: [String]) -> [Int] {
        @Sendable func hashes(_ range: Range<Int>) -> [Int] {
            ids.withUnsafeBufferPointer { ids in range.map { ids[$0].hashValue } }
        }
        guard ids.count >= 100_000 else { return hashes(ids.indices) }
        let middle = ids.count / 2
        let secondHalf = BackgroundWork { hashes(middle..<ids.count) }
        return hashes(0..<middle) + secondHalf.wait()
    }

    /// The position of the node with this id, or nil.
    public subscript(id: String) -> Int32? {
        let hash = id.hashValue
        let tag = UInt32(truncatingIfNeeded: hash >> 32)
        return slots.withUnsafeBufferPointer { slots in
            ids.withUnsafeBufferPointer { ids in
                var slot = hash & mask
                while slots[slot].position >= 0 {
                    // Equal strings that share storage compare without reading their bytes.
                    if slots[slot].tag == tag && ids[Int(slots[slot].position)] == id { return slots[slot].position }
                    slot = (slot + 1) & mask
                }
                return nil
            }
        }
    }

    public var count: Int { ids.count }
}
