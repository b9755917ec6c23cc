#!/usr/bin/env python3
"""Quantize or dequantize raw rows with gguf-py (gguf.quants), for byte comparisons.

usage:
  quant_check.py quantize TYPE IN_F32 OUT_BYTES ROW_LEN
      IN_F32 holds little-endian float32 values, ROW_LEN per row; OUT_BYTES receives
      gguf.quants.quantize(rows, GGMLQuantizationType.TYPE) as raw bytes.
  quant_check.py dequantize TYPE IN_BYTES OUT_F32 ROW_LEN
      IN_BYTES holds quantized rows of ROW_LEN elements; OUT_F32 receives
      gguf.quants.dequantize(...) as little-endian float32.
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize


def main(mode, type_name, src, dst, row_len):
    qtype = GGMLQuantizationType[type_name]
    row_len = int(row_len)
    with np.errstate(all="ignore"):
        if mode == "quantize":
            rows = np.fromfile(src, dtype="<f4").reshape(-1, row_len)
            out = quantize(rows, qtype)
            np.ascontiguousarray(out).tofile(dst)
        elif mode == "dequantize":
            block, size = GGML_QUANT_SIZES[qtype]
            raw = np.fromfile(src, dtype=np.uint8).reshape(-1, row_len // block * size)
            out = dequantize(raw, qtype).astype("<f4")
            np.ascontiguousarray(out).tofile(dst)
        else:
            raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(*sys.argv[1:])
