#!/usr/bin/env python3
"""Quantize raw float32 rows with llama.cpp's own ggml (ggml_quantize_chunk via ctypes).

This is the ground truth llama-quantize uses (without an importance matrix it calls the
quantize_row_*_ref reference kernels), including the K-quants gguf-py cannot produce.
The library is libggml-base.so from the llama-cpp-python wheel, or $GGML_BASE_LIB.

It also opens GGUF files with ggml's own loader (gguf_init_from_file), which is stricter
than gguf-py: offsets must be the running padded sum, types must match exactly.

usage:
  ggml_quantize.py quantize TYPE IN_F32 OUT_BYTES ROW_LEN
  ggml_quantize.py gguf-info FILE     print what ggml's GGUF loader sees, as JSON
  ggml_quantize.py version
Exits 3 when no libggml-base is available, so the Swift test can skip.
"""
import ctypes
import importlib.util
import json
import os
import sys

GGML_TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
    "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "BF16": 30,
}


def load():
    path = os.environ.get("GGML_BASE_LIB")
    if not path:
        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or not spec.submodule_search_locations:
            sys.exit(3)
        path = os.path.join(spec.submodule_search_locations[0], "lib", "libggml-base.so")
    if not os.path.exists(path):
        sys.exit(3)
    lib = ctypes.CDLL(path)
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [
        ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
        ctypes.c_int64, ctypes.c_void_p,
    ]
    lib.ggml_row_size.restype = ctypes.c_size_t
    lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
    lib.ggml_version.restype = ctypes.c_char_p
    lib.ggml_commit.restype = ctypes.c_char_p
    lib.gguf_init_from_file.restype = ctypes.c_void_p
    lib.gguf_init_from_file.argtypes = [ctypes.c_char_p, GGUFInitParams]
    for name, res in [("gguf_get_n_kv", ctypes.c_int64), ("gguf_get_n_tensors", ctypes.c_int64),
                      ("gguf_get_data_offset", ctypes.c_size_t), ("gguf_get_alignment", ctypes.c_size_t),
                      ("gguf_get_version", ctypes.c_uint32)]:
        getattr(lib, name).restype = res
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    for name, res in [("gguf_get_key", ctypes.c_char_p), ("gguf_get_kv_type", ctypes.c_int),
                      ("gguf_get_tensor_name", ctypes.c_char_p), ("gguf_get_tensor_type", ctypes.c_int),
                      ("gguf_get_tensor_offset", ctypes.c_size_t), ("gguf_get_tensor_size", ctypes.c_size_t)]:
        getattr(lib, name).restype = res
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.gguf_free.argtypes = [ctypes.c_void_p]
    return lib


class GGUFInitParams(ctypes.Structure):
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


def gguf_info(lib, path):
    ctx = lib.gguf_init_from_file(path.encode(), GGUFInitParams(True, None))
    if not ctx:
        print(json.dumps({"loaded": False}))
        return
    out = {
        "loaded": True,
        "version": lib.gguf_get_version(ctx),
        "alignment": lib.gguf_get_alignment(ctx),
        "data_offset": lib.gguf_get_data_offset(ctx),
        "kv": [[lib.gguf_get_key(ctx, i).decode(), lib.gguf_get_kv_type(ctx, i)] for i in range(lib.gguf_get_n_kv(ctx))],
        "tensors": [[lib.gguf_get_tensor_name(ctx, i).decode(), lib.gguf_get_tensor_type(ctx, i),
                     lib.gguf_get_tensor_offset(ctx, i), lib.gguf_get_tensor_size(ctx, i)]
                    for i in range(lib.gguf_get_n_tensors(ctx))],
    }
    lib.gguf_free(ctx)
    print(json.dumps(out))


def main(argv):
    lib = load()
    if argv[0] == "version":
        print(f"ggml {lib.ggml_version().decode()} ({lib.ggml_commit().decode()})")
        return
    if argv[0] == "gguf-info":
        gguf_info(lib, argv[1])
        return
    _, type_name, src, dst, row_len = argv
    gtype = GGML_TYPES[type_name]
    row_len = int(row_len)
    data = open(src, "rb").read()
    n = len(data) // 4
    rows = n // row_len
    src_buf = ctypes.create_string_buffer(data, len(data))
    size = lib.ggml_row_size(gtype, row_len) * rows
    dst_buf = ctypes.create_string_buffer(size)
    written = lib.ggml_quantize_chunk(gtype, src_buf, dst_buf, 0, rows, row_len, None)
    assert written == size, (written, size)
    with open(dst, "wb") as f:
        f.write(dst_buf.raw[:size])


if __name__ == "__main__":
    main(sys.argv[1:])
