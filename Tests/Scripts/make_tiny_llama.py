#!/usr/bin/env python3
"""Write a tiny Llama checkpoint (random F16 weights) for the CLI tests.

DIR gets config.json, tokenizer_config.json, the SentencePiece fixture as tokenizer.model,
a README.md whose front matter names a base model and a license, and model.safetensors.

usage: make_tiny_llama.py DIR [--hidden N] [--ffn N] [--layers N] [--heads N] [--vocab N] [--seed N]
"""
import argparse
import json
import os
import shutil

import numpy as np
from safetensors.numpy import save_file

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ModelConversionTests", "Fixtures", "tokenizer.model")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--ffn", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)

    def m(rows, cols):
        return (rng.standard_normal((rows, cols)) * 0.05).astype(np.float16)

    tensors = {"model.embed_tokens.weight": m(a.vocab, a.hidden), "lm_head.weight": m(a.vocab, a.hidden),
               "model.norm.weight": np.ones(a.hidden, np.float16)}
    for i in range(a.layers):
        p = f"model.layers.{i}."
        tensors.update({
            p + "input_layernorm.weight": np.ones(a.hidden, np.float16),
            p + "post_attention_layernorm.weight": np.ones(a.hidden, np.float16),
            p + "self_attn.q_proj.weight": m(a.hidden, a.hidden), p + "self_attn.k_proj.weight": m(a.hidden, a.hidden),
            p + "self_attn.v_proj.weight": m(a.hidden, a.hidden), p + "self_attn.o_proj.weight": m(a.hidden, a.hidden),
            p + "mlp.gate_proj.weight": m(a.ffn, a.hidden), p + "mlp.up_proj.weight": m(a.ffn, a.hidden),
            p + "mlp.down_proj.weight": m(a.hidden, a.ffn),
        })
    save_file(tensors, os.path.join(a.dir, "model.safetensors"), metadata={"format": "pt"})
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": a.hidden,
              "intermediate_size": a.ffn, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
              "num_key_value_heads": a.heads, "vocab_size": a.vocab, "max_position_embeddings": 256,
              "rms_norm_eps": 1e-6, "bos_token_id": 1, "eos_token_id": 2}
    json.dump(config, open(os.path.join(a.dir, "config.json"), "w"), indent=2)
    json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>"},
              open(os.path.join(a.dir, "tokenizer_config.json"), "w"))
    shutil.copy(FIXTURE, os.path.join(a.dir, "tokenizer.model"))
    with open(os.path.join(a.dir, "README.md"), "w") as f:
        f.write("---\nlicense: llama2\nbase_model: meta-llama/Llama-2-7b-hf\nmodel_name: Tiny Vicuna Test\n---\n# Tiny\n")


if __name__ == "__main__":
    main()
