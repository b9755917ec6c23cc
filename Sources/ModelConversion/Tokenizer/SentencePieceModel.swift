import Foundation

/// The vocabulary part of a SentencePiece `tokenizer.model` (a serialized
/// sentencepiece.ModelProto): every piece with its score and type, in id order.
///
/// Only `ModelProto.pieces` (field 1) is read: `SentencePiece { string piece = 1; float score
/// = 2; Type type = 3 [default NORMAL]; }`. The trainer and normalizer specs are skipped, as
/// llama.cpp's converter takes nothing else from them.
public struct SentencePieceModel: Sendable, Equatable {
    /// sentencepiece_model.proto's SentencePiece.Type.
    public enum PieceType: Int, Sendable {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var type: PieceType
    }

    public var pieces: [Piece]

    public static func read(contentsOf url: URL) throws -> SentencePieceModel {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConversionError(.missingFile, file: url.path, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { try parse($0, file: url.path) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SentencePieceModel {
        do {
            var reader = ProtobufReader(bytes)
            var pieces: [Piece] = []
            while let (field, wire) = try reader.readTag() {
                guard field == 1 else {
                    try reader.skip(wire)
                    continue
                }
                guard wire == .lengthDelimited else { throw reader.failure("ModelProto.pieces must be a message") }
                var message = try reader.readLengthDelimited()
                pieces.append(try parsePiece(&message, index: pieces.count))
            }
            guard !pieces.isEmpty else {
                throw ProtobufReader.Failure(offset: 0, message: "the model has no pieces")
            }
            return SentencePieceModel(pieces: pieces)
        } catch let failure as ProtobufReader.Failure {
            throw ConversionError(
                .invalidTokenizer, file: file, subject: "byte \(failure.offset)",
                message: "not a valid SentencePiece model: \(failure.message)",
                hint: "tokenizer.model must be a SentencePiece ModelProto; the file may be truncated or a Git LFS pointer")
        }
    }

    private static func parsePiece(_ reader: inout ProtobufReader, index: Int) throws -> Piece {
        var text: String?
        var score: Float = 0
        var type = PieceType.normal
        while let (field, wire) = try reader.readTag() {
            switch (field, wire) {
            case (1, .lengthDelimited):
                let raw = try reader.readLengthDelimited()
                guard let string = String(validating: raw.bytes, as: UTF8.self) else {
                    throw raw.failure("piece \(index) is not valid UTF-8")
                }
                text = string
            case (2, .fixed32):
                score = Float(bitPattern: try reader.readFixed32())
            case (3, .varint):
                let raw = try reader.readVarint()
                guard let known = PieceType(rawValue: Int(truncatingIfNeeded: raw)), raw <= 6 else {
                    throw reader.failure("piece \(index) has unknown type \(raw)")
                }
                type = known
            default:
                try reader.skip(wire)
            }
        }
        guard let text else { throw reader.failure("piece \(index) has no text") }
        return Piece(text: text, score: score, type: type)
    }
}
