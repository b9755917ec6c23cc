/// Which source row each output row of a tensor comes from.
enum RowOrder: Sendable, Equatable {
    case identity
    /// Hugging Face stores each attention head's query/key rows in rotate-half order (the first
    /// half of the head's dimensions, then the second half); llama.cpp's rope pairs consecutive
    /// dimensions. convert_hf_to_gguf.py's LlamaModel.permute reshapes the rows as
    /// (heads, 2, head_dim/2) and swaps the last two axes, so output row h*hd + 2i + j takes
    /// input row h*hd + j*(hd/2) + i.
    case rotaryInterleaved(headDimension: Int)

    func sourceRow(_ row: Int) -> Int {
        switch self {
        case .identity:
            return row
        case .rotaryInterleaved(let hd):
            let head = row / hd, k = row % hd
            return head * hd + (k % 2) * (hd / 2) + k / 2
        }
    }
}
