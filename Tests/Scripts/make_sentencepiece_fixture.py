#!/usr/bin/env python3
"""Train the small SentencePiece vocabulary the ModelConversion tests convert.

Writes Tests/ModelConversionTests/Fixtures/tokenizer.model: a Llama-style model (BPE, byte
fallback, <unk> <s> </s>, digits split) of 384 pieces learned from a text this script writes,
plus one user-defined piece, so that every piece type the converter maps (normal, unknown,
control, user-defined, byte) occurs. Training is single-threaded and the input fixed, so the
output is the same on every run; it is committed so that the Swift tests do not need
sentencepiece, only the checks that compare against it do.

usage: make_sentencepiece_fixture.py [OUT]
"""
import os
import sys
import tempfile

import sentencepiece as spm

WORDS = """the a of and to in is it that was for on are with as his they be at one have this
from or had by word but what some we can out other were all there when up use your how said
an each she which do their time if will way about many then them write would like so these her
long make thing see him two has look more day could go come did number sound no most people my
over know water than call first who may down side been now find any new work part take get place
made live where after back little only round man year came show every good me give our under name
very through just form sentence great think say help low line differ turn cause much mean before
move right boy old too same tell does set three want air well also play small end put home read
hand port large spell add even land here must big high such follow act why ask men change went
light kind off need house picture try us again animal point mother world near build self earth
father head stand own page should country found answer school grow study still learn plant cover
food sun four between state keep eye never last let thought city tree cross farm hard start might
story saw far sea draw left late run while press close night real life few north llama model
weights quantize lineage token vocabulary""".split()


def corpus(lines=4000):
    # A linear congruential generator: the same text on every platform and Python version.
    state = 12345
    out = []
    for _ in range(lines):
        n = 4 + state % 9
        sentence = []
        for _ in range(n):
            state = (state * 1103515245 + 12345) % (1 << 31)
            sentence.append(WORDS[state % len(WORDS)])
        state = (state * 1103515245 + 12345) % (1 << 31)
        out.append(" ".join(sentence).capitalize() + (". " if state % 3 else "? ") + str(state % 1000))
    return "\n".join(out) + "\n"


def main(out):
    out = os.path.abspath(out)
    with tempfile.TemporaryDirectory() as tmp:
        # The trainer records its input and prefix paths in the model: relative names inside
        # the temporary directory keep the bytes independent of where it is.
        os.chdir(tmp)
        text = "corpus.txt"
        with open(text, "w", encoding="utf-8") as f:
            f.write(corpus())
        prefix = "tok"
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=prefix, model_type="bpe", vocab_size=384,
            normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False,
            byte_fallback=True, split_digits=True, character_coverage=1.0,
            user_defined_symbols=["<lineage>"], num_threads=1, minloglevel=2,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
        with open(prefix + ".model", "rb") as f:
            data = f.read()
    with open(out, "wb") as f:
        f.write(data)
    print(f"wrote {out}: {len(data)} bytes")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "ModelConversionTests", "Fixtures", "tokenizer.model"))
