#!/usr/bin/env python3
"""Print what gguf-py's SpecialVocab (what convert_hf_to_gguf.py uses) finds in a directory.

usage: special_vocab.py DIR [--merges] [--n-vocab N]
Prints JSON: ids and add flags as [kind, value] pairs in the order they would be written,
the chat template and the merges.
"""
import json
import logging
import sys

from gguf import SpecialVocab

logging.disable(logging.CRITICAL)


def main(argv):
    path = argv[0]
    n_vocab = int(argv[argv.index("--n-vocab") + 1]) if "--n-vocab" in argv else None
    vocab = SpecialVocab(path, load_merges="--merges" in argv, n_vocab=n_vocab)
    handled_ids = {"bos", "eos", "unk", "sep", "pad", "mask", "eot", "eom"}
    handled_add = {"bos", "eos", "sep"}
    print(json.dumps({
        "ids": [[k, v] for k, v in vocab.special_token_ids.items() if k in handled_ids],
        "add": [[k, v] for k, v in vocab.add_special_token.items() if k in handled_add],
        "chat_template": vocab.chat_template,
        "merges": vocab.merges,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
