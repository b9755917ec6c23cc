#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) as the final word on the GGUF files lineage writes.

usage:
  llama_cpp_check.py quantize IN OUT FTYPE [NTHREAD]
      llama.cpp's own llama_model_quantize (llama-quantize without an importance matrix)
  llama_cpp_check.py logits GGUF CHECKPOINT_DIR TOKEN...
      runs the GGUF in llama.cpp and a NumPy float64 forward pass of the Hugging Face
      checkpoint (rotate-half rope, grouped-query attention, SwiGLU, RMS norm) on the same
      tokens; prints how far the logits are apart
  llama_cpp_check.py run GGUF TOKEN...
      loads the GGUF in llama.cpp and evaluates the tokens; prints the architecture llama.cpp
      read, the vocabulary size and whether every logit is finite (for architectures without
      a NumPy reference here)
  llama_cpp_check.py tokenize GGUF TOKENIZER_MODEL TEXT
      llama.cpp's tokenization of TEXT with the GGUF's vocabulary, and sentencepiece's with
      TOKENIZER_MODEL (none when it is "-")
Exits 3 when llama-cpp-python is not installed, so the Swift tests can skip.
"""
import ctypes
import json
import os
import sys

try:
    import llama_cpp
except ImportError:
    sys.exit(3)
import numpy as np


def quantize(src, dst, ftype, nthread=1):
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = int(nthread)
    params.ftype = int(ftype)
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        sys.exit(f"llama_model_quantize failed with {rc}")
    print(json.dumps({"ok": True}))


def reference_logits(directory, tokens):
    from safetensors.numpy import load_file

    config = json.load(open(os.path.join(directory, "config.json")))
    weights = {}
    index = os.path.join(directory, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    for f in files:
        for name, value in load_file(os.path.join(directory, f)).items():
            weights[name] = value.astype(np.float64)

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    hd = config.get("head_dim", hidden // heads)
    eps, theta = config["rms_norm_eps"], config.get("rope_theta", 10000.0)

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    def rope(x):  # x: (T, H, hd), Hugging Face rotate_half convention
        t = np.arange(x.shape[0])[:, None]
        inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
        freqs = t * inv[None, :]
        emb = np.concatenate([freqs, freqs], axis=-1)
        cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
        half = hd // 2
        rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
        return x * cos + rotated * sin

    T = len(tokens)
    x = weights["model.embed_tokens.weight"][tokens]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        def linear(name, h):  # with the bias when the checkpoint has one (attention_bias, mlp_bias)
            return h @ weights[p + name + ".weight"].T + weights.get(p + name + ".bias", 0.0)

        h = rms(x, weights[p + "input_layernorm.weight"])
        q = rope(linear("self_attn.q_proj", h).reshape(T, heads, hd))
        k = rope(linear("self_attn.k_proj", h).reshape(T, kv_heads, hd))
        v = linear("self_attn.v_proj", h).reshape(T, kv_heads, hd)
        group = heads // kv_heads
        out = np.zeros((T, heads, hd))
        for head in range(heads):
            kh, vh = k[:, head // group], v[:, head // group]
            s = q[:, head] @ kh.T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            out[:, head] = s @ vh
        x = x + linear("self_attn.o_proj", out.reshape(T, heads * hd))
        h = rms(x, weights[p + "post_attention_layernorm.weight"])
        gate = linear("mlp.gate_proj", h)
        up = linear("mlp.up_proj", h)
        x = x + linear("mlp.down_proj", gate / (1 + np.exp(-gate)) * up)
    x = rms(x, weights["model.norm.weight"])
    head = weights.get("lm_head.weight", weights["model.embed_tokens.weight"])
    return x @ head.T


def logits(path, directory, tokens, reference=None):
    """llama.cpp's logits for `tokens` against `reference(directory, tokens)` (the Llama forward
    pass by default; arch_reference.py passes the other architectures')."""
    tokens = [int(t) for t in tokens]
    # An F32 KV cache, so that the only rounding is in the weights and the arithmetic.
    llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_batch=64, logits_all=True, verbose=False, n_threads=2,
                          type_k=0, type_v=0)
    llm.eval(tokens)
    ours = np.array(llm.scores[: len(tokens)], dtype=np.float64)
    ref = (reference or reference_logits)(directory, tokens)
    print(json.dumps({
        "n_vocab": int(llm.n_vocab()),
        "max_abs_diff": float(np.max(np.abs(ours - ref))),
        "max_abs_ref": float(np.max(np.abs(ref))),
        "argmax_llama": [int(a) for a in ours.argmax(axis=-1)],
        "argmax_reference": [int(a) for a in ref.argmax(axis=-1)],
        "finite": bool(np.isfinite(ours).all()),
    }))


def run(path, tokens):
    tokens = [int(t) for t in tokens]
    llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_batch=64, logits_all=True, verbose=False, n_threads=2,
                          type_k=0, type_v=0)
    llm.eval(tokens)
    scores = np.array(llm.scores[: len(tokens)], dtype=np.float64)
    print(json.dumps({
        "architecture": llm.metadata.get("general.architecture"),
        "n_vocab": int(llm.n_vocab()),
        "finite": bool(np.isfinite(scores).all()),
        "max_abs": float(np.max(np.abs(scores))),
        "argmax": [int(a) for a in scores.argmax(axis=-1)],
    }))


def tokenize(path, model, text):
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    reference = []
    if model != "-":
        from sentencepiece import SentencePieceProcessor

        sp = SentencePieceProcessor()
        sp.LoadFromFile(model)
        reference = sp.encode(text)
    print(json.dumps({
        "llama": llm.tokenize(text.encode(), add_bos=False),
        "sentencepiece": reference,
        "bos": int(llm.token_bos()),
        "eos": int(llm.token_eos()),
    }))


def main(argv):
    command = argv[0]
    if command == "quantize":
        quantize(*argv[1:])
    elif command == "logits":
        logits(argv[1], argv[2], argv[3:])
    elif command == "run":
        run(argv[1], argv[2:])
    elif command == "tokenize":
        tokenize(argv[1], argv[2], argv[3])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
