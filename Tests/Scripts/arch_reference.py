#!/usr/bin/env python3
"""NumPy float64 forward passes of the non-Llama Hugging Face architectures lineage converts,
checked against llama.cpp running the converted GGUF (llama_cpp_check.logits).

Each function follows the family's transformers modelling code on the checkpoint's own
tensors (fused query_key_value layouts, partial rotate-half rope, ALiBi, parallel residuals),
so a wrong tensor map or row rearrangement in the converter shows up as logits that disagree.

usage: arch_reference.py GGUF CHECKPOINT_DIR TOKEN...
Exits 3 when llama-cpp-python is not installed.
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_cpp_check import logits  # noqa: E402  (exits 3 without llama_cpp)


def load(directory):
    from safetensors.numpy import load_file

    config = json.load(open(os.path.join(directory, "config.json")))
    weights = {k: v.astype(np.float64) for k, v in load_file(os.path.join(directory, "model.safetensors")).items()}
    return config, weights


def layer_norm(x, w, b=None, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps) * w
    return y + b if b is not None else y


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def gelu(x):
    # The tanh form, which ggml_gelu computes for every architecture; Falcon, GPT-NeoX and MPT
    # were trained with the erf form, a difference of llama.cpp's, not of the conversion.
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, rot, theta=10000.0):
    """Hugging Face rotate_half rope on the first `rot` dims of each head; x: (T, H, hd)."""
    t = np.arange(x.shape[0])[:, None]
    inv = 1.0 / theta ** (np.arange(0, rot, 2) / rot)
    emb = np.concatenate([t * inv, t * inv], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    r, rest = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = np.concatenate([-r[..., half:], r[..., :half]], axis=-1)
    return np.concatenate([r * cos + rotated * sin, rest], axis=-1)


def alibi_slopes(n_head, max_bias=8.0):
    # BLOOM's build_alibi_tensor / MPT's gen_slopes / Baichuan's _get_interleave agree for
    # a power-of-two head count, which the tests use.
    return np.array([2 ** (-max_bias * (h + 1) / n_head) for h in range(n_head)])


def attention(q, k, v, slopes=None):
    """Causal attention; q: (T, H, hd), k/v: (T, KV, hd) shared by H/KV query heads."""
    T, H, hd = q.shape
    group = H // k.shape[1]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    distance = np.arange(T)[None, :] - np.arange(T)[:, None]
    out = np.zeros_like(q)
    for h in range(H):
        s = q[:, h] @ k[:, h // group].T / np.sqrt(hd) + mask
        if slopes is not None:
            s = s + slopes[h] * distance
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        out[:, h] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, h // group]
    return out.reshape(T, H * hd)


def linear(w, name, x):
    return x @ w[name + ".weight"].T + w.get(name + ".bias", 0.0)


def bloom(c, w, tokens):
    w = {k.removeprefix("transformer."): v for k, v in w.items()}
    e, H = c["hidden_size"], c["n_head"]
    hd, eps, T = e // H, c["layer_norm_epsilon"], len(tokens)
    x = layer_norm(w["word_embeddings.weight"][tokens], w["word_embeddings_layernorm.weight"], w["word_embeddings_layernorm.bias"], eps)
    for i in range(c["n_layer"]):
        p = f"h.{i}."
        h = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        qkv = linear(w, p + "self_attention.query_key_value", h).reshape(T, H, 3, hd)
        x = x + linear(w, p + "self_attention.dense", attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2], alibi_slopes(H)))
        h = layer_norm(x, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], eps)
        x = x + linear(w, p + "mlp.dense_4h_to_h", gelu(linear(w, p + "mlp.dense_h_to_4h", h)))
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w.get("lm_head.weight", w["word_embeddings.weight"]).T


def falcon(c, w, tokens):
    e, H = c["hidden_size"], c["num_attention_heads"]
    kv = c.get("num_kv_heads", 1) if c.get("new_decoder_architecture") else 1
    hd, eps, T, g = e // H, c["layer_norm_epsilon"], len(tokens), H // kv
    x = w["transformer.word_embeddings.weight"][tokens]
    for i in range(c["num_hidden_layers"]):
        p = f"transformer.h.{i}."
        if c.get("new_decoder_architecture"):
            attn_in = layer_norm(x, w[p + "ln_attn.weight"], w[p + "ln_attn.bias"], eps)
            mlp_in = layer_norm(x, w[p + "ln_mlp.weight"], w[p + "ln_mlp.bias"], eps)
        else:
            attn_in = mlp_in = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        qkv = linear(w, p + "self_attention.query_key_value", attn_in).reshape(T, kv, g + 2, hd)
        q = rope(qkv[:, :, :g].reshape(T, H, hd), hd)
        k = rope(qkv[:, :, g], hd)
        a = linear(w, p + "self_attention.dense", attention(q, k, qkv[:, :, g + 1]))
        m = linear(w, p + "mlp.dense_4h_to_h", gelu(linear(w, p + "mlp.dense_h_to_4h", mlp_in)))
        x = x + a + m
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    return x @ w.get("lm_head.weight", w["transformer.word_embeddings.weight"]).T


def gptneox(c, w, tokens):
    e, H = c["hidden_size"], c["num_attention_heads"]
    hd, eps, T = e // H, c["layer_norm_eps"], len(tokens)
    rot = int(hd * c["rotary_pct"])
    x = w["gpt_neox.embed_in.weight"][tokens]
    for i in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        h = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        qkv = linear(w, p + "attention.query_key_value", h).reshape(T, H, 3 * hd)
        q, k, v = rope(qkv[..., :hd], rot), rope(qkv[..., hd:2 * hd], rot), qkv[..., 2 * hd:]
        a = linear(w, p + "attention.dense", attention(q, k, v))
        h2 = layer_norm(x, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], eps)
        m = linear(w, p + "mlp.dense_4h_to_h", gelu(linear(w, p + "mlp.dense_h_to_4h", h2)))
        x = x + a + m  # use_parallel_residual
    x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    return x @ w["embed_out.weight"].T


def stablelm(c, w, tokens):
    e, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd, eps, T = e // H, c["layer_norm_eps"], len(tokens)
    rot = int(hd * c["partial_rotary_factor"])
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        q = rope(linear(w, p + "self_attn.q_proj", h).reshape(T, H, hd), rot, c.get("rope_theta", 10000.0))
        k = rope(linear(w, p + "self_attn.k_proj", h).reshape(T, KV, hd), rot, c.get("rope_theta", 10000.0))
        v = linear(w, p + "self_attn.v_proj", h).reshape(T, KV, hd)
        x = x + linear(w, p + "self_attn.o_proj", attention(q, k, v))
        h = layer_norm(x, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], eps)
        gate = linear(w, p + "mlp.gate_proj", h)
        x = x + linear(w, p + "mlp.down_proj", gate / (1 + np.exp(-gate)) * linear(w, p + "mlp.up_proj", h))
    x = layer_norm(x, w["model.norm.weight"], w["model.norm.bias"], eps)
    return x @ w["lm_head.weight"].T


def phi(c, w, tokens):
    e, H = c["hidden_size"], c["num_attention_heads"]
    hd, eps, T = e // H, c["layer_norm_eps"], len(tokens)
    rot = int(hd * c["partial_rotary_factor"])
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        q = rope(linear(w, p + "self_attn.q_proj", h).reshape(T, H, hd), rot)
        k = rope(linear(w, p + "self_attn.k_proj", h).reshape(T, H, hd), rot)
        v = linear(w, p + "self_attn.v_proj", h).reshape(T, H, hd)
        a = linear(w, p + "self_attn.dense", attention(q, k, v))
        m = linear(w, p + "mlp.fc2", gelu(linear(w, p + "mlp.fc1", h)))
        x = x + a + m
    x = layer_norm(x, w["model.final_layernorm.weight"], w["model.final_layernorm.bias"], eps)
    return linear(w, "lm_head", x)


def mpt(c, w, tokens):
    e, H = c["d_model"], c["n_heads"]
    hd, T = e // H, len(tokens)
    x = w["transformer.wte.weight"][tokens]
    slopes = alibi_slopes(H, c["attn_config"]["alibi_bias_max"])
    for i in range(c["n_layers"]):
        p = f"transformer.blocks.{i}."
        h = layer_norm(x, w[p + "norm_1.weight"])
        qkv = linear(w, p + "attn.Wqkv", h)
        q, k, v = (qkv[:, j * e:(j + 1) * e].reshape(T, H, hd) for j in range(3))
        x = x + linear(w, p + "attn.out_proj", attention(q, k, v, slopes))
        h = layer_norm(x, w[p + "norm_2.weight"])
        x = x + linear(w, p + "ffn.down_proj", gelu(linear(w, p + "ffn.up_proj", h)))
    x = layer_norm(x, w["transformer.norm_f.weight"])
    return x @ w["transformer.wte.weight"].T


def baichuan(c, w, tokens):
    e, H = c["hidden_size"], c["num_attention_heads"]
    hd, eps, T = e // H, c["rms_norm_eps"], len(tokens)
    layers = c["num_hidden_layers"]
    # llama.cpp picks rope for 32 layers (7B) and ALiBi for 40 (13B), as Baichuan's two sizes do.
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(layers):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        qkv = linear(w, p + "self_attn.W_pack", h)
        q, k, v = (qkv[:, j * e:(j + 1) * e].reshape(T, H, hd) for j in range(3))
        if layers == 40:
            out = attention(q, k, v, alibi_slopes(H))
        else:
            out = attention(rope(q, hd), rope(k, hd), v)
        x = x + linear(w, p + "self_attn.o_proj", out)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(w, p + "mlp.gate_proj", h)
        x = x + linear(w, p + "mlp.down_proj", gate / (1 + np.exp(-gate)) * linear(w, p + "mlp.up_proj", h))
    return rms_norm(x, w["model.norm.weight"], eps) @ w["lm_head.weight"].T


FORWARD = {"bloom": bloom, "falcon": falcon, "gpt_neox": gptneox, "stablelm": stablelm, "phi": phi, "mpt": mpt,
           "baichuan": baichuan}


def reference(directory, tokens):
    config, weights = load(directory)
    return FORWARD[config["model_type"]](config, weights, tokens)


if __name__ == "__main__":
    logits(sys.argv[1], sys.argv[2], sys.argv[3:], reference=reference)
