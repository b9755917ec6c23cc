/// The lineage DAG in memory: nodes, edges and both adjacency lists in compressed form
/// (offsets into one flat array per direction), so that walking a million nodes touches
/// contiguous `Int32`s rather than a million small arrays.
public struct LineageGraph: Sendable {
    public let nodes: [LineageNode]
    public let edges: [LineageEdge]
    public let families: [Family]

    /// Node id -> index into `nodes`.
    public let index: NodeIndex
    /// Hub repo id (lowercased) -> node index, for lookups by alias.
    private let hubAliases: [String: Int32]

    // children of node i: childTargets[childOffsets[i] ..< childOffsets[i+1]] (edge indices in childEdges)
    private let childOffsets: [Int32]
    private let childTargets: [Int32]
    private let childEdges: [Int32]
    private let parentOffsets: [Int32]
    private let parentTargets: [Int32]
    private let parentEdges: [Int32]
    /// Edge endpoints as node indices, parallel to `edges`.
    public let edgeEndpoints: [(parent: Int32, child: Int32)]

    public enum BuildError: Error, CustomStringConvertible, Equatable {
        case duplicateNode(String)
        case unknownEndpoint(edge: String, missing: String)
        case endpointCount(edges: Int, endpoints: Int)

        public var description: String {
            switch self {
            case .duplicateNode(let id): "node '\(id)' is defined twice"
            case .unknownEndpoint(let edge, let missing):
                "edge \(edge) names '\(missing)', which is not a node of the graph"
            case .endpointCount(let edges, let endpoints): "\(edges) edges but \(endpoints) endpoint pairs"
            }
        }
    }

    public init(nodes: [LineageNode], edges: [LineageEdge], families: [Family] = []) throws {
        let (index, hubAliases) = try Self.indexes(of: nodes)
        let endpoints = try Self.resolveEndpoints(of: edges, in: index)
        self.init(nodes: nodes, edges: edges, families: families, index: index, hubAliases: hubAliases, endpoints: endpoints)
    }

    /// A graph whose edge endpoints the caller already knows as node indices (a store reads
    /// them as keys): `endpoints[i]` are the positions in `nodes` of `edges[i]`'s parent and
    /// child. Skips looking every endpoint up by id; each is still checked against its edge.
    public init(nodes: [LineageNode], edges: [LineageEdge], endpoints: [(parent: Int32, child: Int32)], families: [Family] = []) throws {
        // Checking the endpoints and building the adjacency lists do not need the index: on a
        // large graph the second core builds it meanwhile.
        let indexWork = nodes.count >= 100_000 ? BackgroundWork { Result { try Self.indexes(of: nodes) } } : nil
        guard endpoints.count == edges.count else { throw BuildError.endpointCount(edges: edges.count, endpoints: endpoints.count) }
        try nodes.withUnsafeBufferPointer { nodes in
            try edges.withUnsafeBufferPointer { edges in
                // Equal strings that share storage (a store hands out the nodes' own ids)
                // compare without reading their bytes.
                func check(_ id: String, at node: Int32, of position: Int) throws {
                    guard nodes.indices.contains(Int(node)) && nodes[Int(node)].id == id else {
                        throw BuildError.unknownEndpoint(edge: "\(edges[position].parent) -> \(edges[position].child)", missing: id)
                    }
                }
                for (position, endpoint) in endpoints.enumerated() {
                    try check(edges[position].parent, at: endpoint.parent, of: position)
                    try check(edges[position].child, at: endpoint.child, of: position)
                }
            }
        }
        let adjacency = Adjacency(nodeCount: nodes.count, endpoints: endpoints)
        let (index, hubAliases) = try indexWork?.wait().get() ?? Self.indexes(of: nodes)
        self.init(nodes: nodes, edges: edges, families: families, index: index, hubAliases: hubAliases, endpoints: endpoints, adjacency: adjacency)
    }

    /// Both compressed adjacency lists.
    private struct Adjacency {
        var childOffsets, childTargets, childEdges, parentOffsets, parentTargets, parentEdges: [Int32]

        init(nodeCount: Int, endpoints: [(parent: Int32, child: Int32)]) {
            (childOffsets, childTargets, childEdges) = LineageGraph.compressedAdjacency(nodeCount: nodeCount, endpoints: endpoints, .parentToChildren)
            (parentOffsets, parentTargets, parentEdges) = LineageGraph.compressedAdjacency(nodeCount: nodeCount, endpoints: endpoints, .childToParents)
        }
    }

    private init(
        nodes: [LineageNode], edges: [LineageEdge], families: [Family], index: NodeIndex, hubAliases: [String: Int32],
        endpoints: [(parent: Int32, child: Int32)], adjacency: Adjacency? = nil
    ) {
        self.nodes = nodes
        self.edges = edges
        self.families = families
        self.index = index
        self.hubAliases = hubAliases
        self.edgeEndpoints = endpoints
        let adjacency = adjacency ?? Adjacency(nodeCount: nodes.count, endpoints: endpoints)
        (childOffsets, childTargets, childEdges) = (adjacency.childOffsets, adjacency.childTargets, adjacency.childEdges)
        (parentOffsets, parentTargets, parentEdges) = (adjacency.parentOffsets, adjacency.parentTargets, adjacency.parentEdges)
    }

    /// Id -> position and Hub alias -> position; refuses an id that comes twice.
    private static func indexes(of nodes: [LineageNode]) throws -> (index: NodeIndex, hubAliases: [String: Int32]) {
        let index = try NodeIndex(nodes)
        var hubAliases = [String: Int32]()
        // Fields are read in place: iterating `for node in nodes` would copy every node out,
        // retaining and releasing each of its fields.
        nodes.withUnsafeBufferPointer { nodes in
            for position in nodes.indices {
                for hubID in nodes[position].hubIDs { hubAliases[hubID.lowercased()] = Int32(position) }
            }
        }
        return (index, hubAliases)
    }

    /// Each edge's endpoints as node indices. Large graphs are split in two halves looked up
    /// on both cores: the lookups are most of the build, and the index is only read.
    private static func resolveEndpoints(of edges: [LineageEdge], in index: NodeIndex) throws -> [(parent: Int32, child: Int32)] {
        @Sendable func resolve(_ range: Range<Int>) -> Result<[(parent: Int32, child: Int32)], BuildError> {
            var endpoints = [(parent: Int32, child: Int32)]()
            endpoints.reserveCapacity(range.count)
            return edges.withUnsafeBufferPointer { edges in
                for position in range {
                    guard let parent = index[edges[position].parent] else {
                        return .failure(.unknownEndpoint(edge: "\(edges[position].parent) -> \(edges[position].child)", missing: edges[position].parent))
                    }
                    guard let child = index[edges[position].child] else {
                        return .failure(.unknownEndpoint(edge: "\(edges[position].parent) -> \(edges[position].child)", missing: edges[position].child))
                    }
                    endpoints.append((parent, child))
                }
                return .success(endpoints)
            }
        }
        guard edges.count >= 100_000 else { return try resolve(edges.indices).get() }
        let middle = edges.count / 2
        let secondHalf = BackgroundWork { resolve(middle..<edges.count) }
        let firstHalf = resolve(0..<middle)
        // The first half's error wins, as it would in one sequential pass.
        return try firstHalf.get() + secondHalf.wait().get()
    }

    /// Which way an adjacency list points.
    private enum Direction {
        case parentToChildren, childToParents
    }

    private static func compressedAdjacency(
        nodeCount: Int, endpoints: [(parent: Int32, child: Int32)], _ direction: Direction
    ) -> (offsets: [Int32], targets: [Int32], edgeIndices: [Int32]) {
        // A plain switch, not key paths: reading a tuple field through a key path costs a
        // runtime call per edge, a third of the whole build of a million-edge graph.
        @inline(__always) func ends(_ endpoint: (parent: Int32, child: Int32)) -> (from: Int, to: Int32) {
            switch direction {
            case .parentToChildren: (Int(endpoint.parent), endpoint.child)
            case .childToParents: (Int(endpoint.child), endpoint.parent)
            }
        }
        var offsets = [Int32](repeating: 0, count: nodeCount + 1)
        for endpoint in endpoints { offsets[ends(endpoint).from + 1] += 1 }
        for i in 0..<nodeCount { offsets[i + 1] += offsets[i] }
        var cursor = offsets
        var targets = [Int32](repeating: 0, count: endpoints.count)
        var edgeIndices = [Int32](repeating: 0, count: endpoints.count)
        for (edgeIndex, endpoint) in endpoints.enumerated() {
            let (source, target) = ends(endpoint)
            let slot = Int(cursor[source])
            targets[slot] = target
            edgeIndices[slot] = Int32(edgeIndex)
            cursor[source] += 1
        }
        return (offsets, targets, edgeIndices)
    }

    // MARK: Lookup

    /// Finds a node by id, by Hub repo id, or by display name (case-insensitive).
    public func lookup(_ reference: String) -> Int32? {
        if let found = index[reference] { return found }
        let lowered = reference.lowercased()
        if let found = hubAliases[lowered] { return found }
        if let found = nodes.firstIndex(where: { $0.id.lowercased() == lowered || $0.name.lowercased() == lowered }) {
            return Int32(found)
        }
        return nil
    }

    public func children(of node: Int32) -> ArraySlice<Int32> {
        childTargets[Int(childOffsets[Int(node)])..<Int(childOffsets[Int(node) + 1])]
    }

    public func parents(of node: Int32) -> ArraySlice<Int32> {
        parentTargets[Int(parentOffsets[Int(node)])..<Int(parentOffsets[Int(node) + 1])]
    }

    /// Indices into `edges` of the edges leaving `node`.
    public func outgoingEdges(of node: Int32) -> ArraySlice<Int32> {
        childEdges[Int(childOffsets[Int(node)])..<Int(childOffsets[Int(node) + 1])]
    }

    /// Indices into `edges` of the edges entering `node`.
    public func incomingEdges(of node: Int32) -> ArraySlice<Int32> {
        parentEdges[Int(parentOffsets[Int(node)])..<Int(parentOffsets[Int(node) + 1])]
    }

    // MARK: Walks

    /// Every node reachable from `start` along child edges, breadth first, `start` excluded.
    /// `depth` limits the number of edges walked (nil: no limit).
    public func descendants(of start: Int32, depth: Int? = nil) -> [Int32] {
        walk(from: start, depth: depth, offsets: childOffsets, targets: childTargets)
    }

    /// Every node reachable from `start` along parent edges, nearest first, `start` excluded.
    public func ancestors(of start: Int32, depth: Int? = nil) -> [Int32] {
        walk(from: start, depth: depth, offsets: parentOffsets, targets: parentTargets)
    }

    private func walk(from start: Int32, depth: Int?, offsets: [Int32], targets: [Int32]) -> [Int32] {
        var seen = [Bool](repeating: false, count: nodes.count)
        seen[Int(start)] = true
        var order: [Int32] = []
        var frontier: [Int32] = [start]
        var level = 0
        // Breadth first by levels so that `depth` is exact and results come nearest first.
        offsets.withUnsafeBufferPointer { offsets in
            targets.withUnsafeBufferPointer { targets in
                while !frontier.isEmpty, depth.map({ level < $0 }) ?? true {
                    var next: [Int32] = []
                    for node in frontier {
                        for slot in Int(offsets[Int(node)])..<Int(offsets[Int(node) + 1]) {
                            let target = targets[slot]
                            if !seen[Int(target)] {
                                seen[Int(target)] = true
                                next.append(target)
                            }
                        }
                    }
                    order.append(contentsOf: next)
                    frontier = next
                    level += 1
                }
            }
        }
        return order
    }

    /// Nodes without parents.
    public var roots: [Int32] {
        (0..<Int32(nodes.count)).filter { parentOffsets[Int($0)] == parentOffsets[Int($0) + 1] }
    }

    // MARK: Paths

    /// One step of a path: the node reached and the edge taken; `forward` is true when the
    /// edge was walked parent -> child.
    public struct PathStep: Sendable, Equatable {
        public let node: Int32
        public let edge: Int32?
        public let forward: Bool
    }

    /// The shortest chain of edges between two nodes: a directed path when one descends from
    /// the other, else the way up from `source` to their nearest common ancestor and down to
    /// `target`. nil when they share no ancestor.
    public func path(from source: Int32, to target: Int32) -> [PathStep]? {
        if source == target { return [PathStep(node: source, edge: nil, forward: true)] }
        if let down = directedPath(from: source, to: target, downward: true) { return down }
        if let up = directedPath(from: source, to: target, downward: false) { return up }
        // Nearest common ancestor: breadth-first distances up from both ends.
        let fromSource = upwardDistances(from: source)
        let fromTarget = upwardDistances(from: target)
        var best: (node: Int32, length: Int)?
        for (node, distance) in fromSource {
            if let other = fromTarget[node], best.map({ distance + other < $0.length }) ?? true {
                best = (node, distance + other)
            }
        }
        guard let meeting = best?.node,
              let up = directedPath(from: source, to: meeting, downward: false),
              let down = directedPath(from: meeting, to: target, downward: true)
        else { return nil }
        return up + down.dropFirst()
    }

    private func upwardDistances(from start: Int32) -> [Int32: Int] {
        var distance: [Int32: Int] = [start: 0]
        var queue: [Int32] = [start]
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for parent in parents(of: node) where distance[parent] == nil {
                distance[parent] = distance[node]! + 1
                queue.append(parent)
            }
        }
        return distance
    }

    private func directedPath(from source: Int32, to target: Int32, downward: Bool) -> [PathStep]? {
        var cameFrom: [Int32: (node: Int32, edge: Int32)] = [:]
        var queue: [Int32] = [source]
        var head = 0
        var found = false
        search: while head < queue.count {
            let node = queue[head]
            head += 1
            let neighbours = downward ? children(of: node) : parents(of: node)
            let viaEdges = downward ? outgoingEdges(of: node) : incomingEdges(of: node)
            for (neighbour, edge) in zip(neighbours, viaEdges)
            where neighbour != source && cameFrom[neighbour] == nil {
                cameFrom[neighbour] = (node, edge)
                if neighbour == target {
                    found = true
                    break search
                }
                queue.append(neighbour)
            }
        }
        guard found else { return nil }
        var steps: [PathStep] = []
        var node = target
        while node != source, let previous = cameFrom[node] {
            steps.append(PathStep(node: node, edge: previous.edge, forward: downward))
            node = previous.node
        }
        steps.append(PathStep(node: source, edge: nil, forward: downward))
        return steps.reversed()
    }

    // MARK: Cycles

    /// A cycle as a list of node ids (first repeated at the end), or nil for a DAG.
    public func findCycle() -> [String]? {
        Self.findCycle(nodeCount: nodes.count, endpoints: edgeEndpoints).map { $0.map { nodes[Int($0)].id } }
    }

    /// A cycle among edges given by id, or nil when they form a DAG.
    public static func findCycle(edges: [(parent: String, child: String)]) -> [String]? {
        numberedCycle(edges: edges)
    }

    /// A cycle among edges given by integer node keys (the store's), or nil for a DAG.
    public static func findCycle(edges: [(parent: Int64, child: Int64)]) -> [Int64]? {
        numberedCycle(edges: edges)
    }

    /// A cycle among edges between nodes already numbered `0..<nodeCount`, or nil for a DAG:
    /// no numbering pass, for callers whose keys are dense already.
    public static func findCycle(nodeCount: Int, edges: [(parent: Int32, child: Int32)]) -> [Int32]? {
        findCycle(nodeCount: nodeCount, endpoints: edges)
    }

    // Generic inside the module only, so that each public entry gets a specialized copy
    // (an unspecialized generic dictionary costs several times more per edge).
    private static func numberedCycle<Key: Hashable>(edges: [(parent: Key, child: Key)]) -> [Key]? {
        var index: [Key: Int32] = [:]
        var ids: [Key] = []
        func number(_ id: Key) -> Int32 {
            if let known = index[id] { return known }
            index[id] = Int32(ids.count)
            ids.append(id)
            return Int32(ids.count - 1)
        }
        let endpoints = edges.map { (parent: number($0.parent), child: number($0.child)) }
        return findCycle(nodeCount: ids.count, endpoints: endpoints).map { $0.map { ids[Int($0)] } }
    }

    static func findCycle(nodeCount: Int, endpoints: [(parent: Int32, child: Int32)]) -> [Int32]? {
        let (childOffsets, childTargets, _) = compressedAdjacency(nodeCount: nodeCount, endpoints: endpoints, .parentToChildren)
        var remainingParents = [Int](repeating: 0, count: nodeCount)
        for endpoint in endpoints { remainingParents[Int(endpoint.child)] += 1 }
        // Kahn's algorithm peels every node that is not on or behind a cycle.
        var queue = (0..<Int32(nodeCount)).filter { remainingParents[Int($0)] == 0 }
        var head = 0
        while head < queue.count {
            let node = Int(queue[head])
            head += 1
            for slot in Int(childOffsets[node])..<Int(childOffsets[node + 1]) {
                let child = Int(childTargets[slot])
                remainingParents[child] -= 1
                if remainingParents[child] == 0 { queue.append(Int32(child)) }
            }
        }
        guard queue.count < nodeCount,
              var node = (0..<Int32(nodeCount)).first(where: { remainingParents[Int($0)] > 0 })
        else { return nil }
        // Every node left has a parent that is also left, so walking parents must come back
        // to a node already walked: that loop, read backwards, is a cycle.
        let (parentOffsets, parentTargets, _) = compressedAdjacency(nodeCount: nodeCount, endpoints: endpoints, .childToParents)
        var positionOnWalk: [Int32: Int] = [:]
        var walk: [Int32] = []
        while positionOnWalk[node] == nil {
            positionOnWalk[node] = walk.count
            walk.append(node)
            let range = Int(parentOffsets[Int(node)])..<Int(parentOffsets[Int(node) + 1])
            node = parentTargets[range].first { remainingParents[Int($0)] > 0 }!
        }
        let loop = Array(walk[positionOnWalk[node]!...].reversed())
        return loop + [loop[0]]
    }

    // MARK: Selections

    /// The nodes of a family plus their direct parents outside it (so the family's roots
    /// show where it came from).
    public func familySelection(_ family: String) -> Set<Int32> {
        var selected = Set<Int32>()
        for (position, node) in nodes.enumerated() where node.family == family {
            selected.insert(Int32(position))
            selected.formUnion(parents(of: Int32(position)))
        }
        return selected
    }

    /// The subgraph induced by `selection`, keeping node order.
    public func subgraph(_ selection: Set<Int32>) -> LineageGraph {
        let keptNodes = (0..<Int32(nodes.count)).filter(selection.contains)
        let keptEdges = edgeEndpoints.indices.filter {
            selection.contains(edgeEndpoints[$0].parent) && selection.contains(edgeEndpoints[$0].child)
        }
        let familyIDs = Set(keptNodes.compactMap { nodes[Int($0)].family })
        // The selection is closed over its own edges, so this cannot fail.
        return try! LineageGraph(
            nodes: keptNodes.map { nodes[Int($0)] },
            edges: keptEdges.map { edges[$0] },
            families: families.filter { familyIDs.contains($0.id) }
        )
    }
}
