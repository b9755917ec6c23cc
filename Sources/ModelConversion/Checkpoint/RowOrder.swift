/// Which source row each output row of a tensor comes from.
enum RowOrder: Sendable, Equatable {
    case identity
    /// Hugging Face stores each attention head's query/key rows in rotate-half order (the first
    /// half of the head's dimensions, then the second half); llama.cpp's rope pairs consecutive
    /// dimensions. convert_hf_to_gguf.py's LlamaModel.permute reshapes the rows as
    /// (heads, 2, head_dim/2) and swaps the last two axes, so output row h*hd + 2i + j takes
    /// input row h*hd + j*(hd/2) + i.
    case rotaryInterleaved(headDimension: Int)
    /// Any other rearrangement, spelled out: output row i takes source row `table[i]`. Fused
    /// query/key/value projections and split packed ones are rearranged this way; the table has
    /// one entry per output row, small next to the rows themselves.
    case table([Int])

    func sourceRow(_ row: Int) -> Int {
        switch self {
        case .identity:
            return row
        case .rotaryInterleaved(let hd):
            let head = row / hd, k = row % hd
            return head * hd + (k % 2) * (hd / 2) + k / 2
        case .table(let rows):
            return rows[row]
        }
    }

    /// BLOOM's and GPT-NeoX's fused query_key_value interleaves the three projections per head
    /// (rows as (heads, 3, head_dim)); llama.cpp wants all query rows, then all key rows, then all
    /// value rows. BloomModel/GPTNeoXModel.modify_tensors reshape to (heads, 3, hd, ...) and
    /// concatenate the three slices, so output row part*heads*hd + h*hd + d takes source row
    /// (h*3 + part)*hd + d.
    static func headInterleavedQKV(heads: Int, headDimension hd: Int) -> RowOrder {
        var rows: [Int] = []
        rows.reserveCapacity(3 * heads * hd)
        for part in 0..<3 {
            for h in 0..<heads {
                for d in 0..<hd { rows.append((h * 3 + part) * hd + d) }
            }
        }
        return .table(rows)
    }

    /// Falcon's query_key_value holds `kvHeads` groups of (heads/kvHeads query heads, one key
    /// head, one value head). FalconModel.modify_tensors ("jploski" layout) regroups them as all
    /// query heads, then all key heads, then all value heads.
    static func falconQKV(heads: Int, kvHeads: Int, headDimension hd: Int) -> RowOrder {
        let group = heads / kvHeads
        var rows: [Int] = []
        rows.reserveCapacity((heads + 2 * kvHeads) * hd)
        for g in 0..<kvHeads {
            for q in 0..<group {
                for d in 0..<hd { rows.append((g * (group + 2) + q) * hd + d) }
            }
        }
        for part in [group, group + 1] {
            for g in 0..<kvHeads {
                for d in 0..<hd { rows.append((g * (group + 2) + part) * hd + d) }
            }
        }
        return .table(rows)
    }

    /// Rows `offset..<offset+count` of the source, each taken in `then` order (Baichuan's W_pack
    /// split: a third of the rows per projection, queries and keys permuted for rope).
    static func slice(offset: Int, count: Int, then order: RowOrder = .identity) -> RowOrder {
        .table((0..<count).map { offset + order.sourceRow($0) })
    }
}
