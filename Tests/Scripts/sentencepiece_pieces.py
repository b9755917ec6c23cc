#!/usr/bin/env python3
"""Print a SentencePiece model's pieces as sentencepiece itself reads them, as JSON.

Each piece is [text, score as IEEE bits, type], the type classified the way
convert_hf_to_gguf.py's _create_vocab_sentencepiece does (unknown 2, control 3, unused 5,
byte 6, everything else normal 1), plus the encoding of a sample text.

usage: sentencepiece_pieces.py MODEL [TEXT]
"""
import json
import struct
import sys

from sentencepiece import SentencePieceProcessor


def main(path, text):
    sp = SentencePieceProcessor()
    sp.LoadFromFile(path)
    pieces = []
    for i in range(sp.vocab_size()):
        kind = 1
        if sp.IsUnknown(i):
            kind = 2
        elif sp.IsControl(i):
            kind = 3
        elif sp.IsUnused(i):
            kind = 5
        elif sp.IsByte(i):
            kind = 6
        bits = struct.unpack("<I", struct.pack("<f", sp.GetScore(i)))[0]
        pieces.append([sp.IdToPiece(i), bits, kind])
    json.dump({"pieces": pieces, "encoded": sp.encode(text) if text else []}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
