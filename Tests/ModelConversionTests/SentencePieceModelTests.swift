import LineageTestSupport
import Foundation
import Testing
@testable import ModelConversion

@Suite("SentencePiece tokenizer.model reader")
struct SentencePieceModelTests {
    static let fixture = TinyLlama.fixtures.appendingPathComponent("tokenizer.model")

    @Test("every piece, score and type matches sentencepiece's own reading")
    func matchesSentencePiece() throws {
        let ours = try SentencePieceModel.read(contentsOf: Self.fixture)
        let reference = try TestSupport.runPythonJSON("sentencepiece_pieces.py", [Self.fixture.path])
        let pieces = reference["pieces"] as! [[Any]]
        #expect(ours.pieces.count == pieces.count)
        #expect(pieces.count == TinyLlama.tokenizerPieces)
        for (i, (mine, theirs)) in zip(ours.pieces, pieces).enumerated() {
            #expect(mine.text == theirs[0] as! String, "piece \(i)")
            #expect(mine.score.bitPattern == UInt32(theirs[1] as! Int), "score of piece \(i)")
            // The converter's classification: user-defined pieces count as normal.
            let kind: Int
            switch mine.type {
            case .unknown: kind = 2
            case .control: kind = 3
            case .unused: kind = 5
            case .byte: kind = 6
            case .normal, .userDefined: kind = 1
            }
            #expect(kind == theirs[2] as! Int, "type of piece \(i) '\(mine.text)'")
        }
        #expect(ours.pieces[3] == .init(text: "<lineage>", score: 0, type: .userDefined))
    }

    @Test("llama.cpp tokenizes with our vocabulary exactly as sentencepiece does", .enabled(if: Conversion.llamaCppAvailable))
    func llamaCppTokenizes() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = try TinyLlama(hidden: 64, feedForward: 128, layers: 1, heads: 2, kvHeads: 2).write(to: dir.appendingPathComponent("tiny"))
        let (url, _) = try Conversion.run(checkpoint, .f32)
        let text = "The llama model weights 2048 times, and the lineage? Über 🦙"
        let result = try TestSupport.runPythonJSON("llama_cpp_check.py", ["tokenize", url.path, Self.fixture.path, text])
        #expect(result["llama"] as? [Int] == result["sentencepiece"] as? [Int])
        #expect(result["bos"] as? Int == 1)
        #expect(result["eos"] as? Int == 2)
    }

    @Test("truncated and foreign files are refused with the byte where they stop making sense")
    func malformed() throws {
        let data = try Data(contentsOf: Self.fixture)
        let truncated = data.prefix(data.count / 2)
        #expect {
            try truncated.withUnsafeBytes { try SentencePieceModel.parse($0, file: "tokenizer.model") }
        } throws: { error in
            let text = "\(error)"
            return text.contains("tokenizer.model") && text.contains("not a valid SentencePiece model") && text.contains("runs past the end")
        }
        let pointer = Data("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 499723\n".utf8)
        #expect(throws: ConversionError.self) {
            try pointer.withUnsafeBytes { try SentencePieceModel.parse($0, file: "tokenizer.model") }
        }
    }
}
