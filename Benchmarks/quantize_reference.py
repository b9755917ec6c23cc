#!/usr/bin/env python3
"""The references lineage's quantizer is timed against (see scripts/bench-quantize.sh).

usage:
  quantize_reference.py llama F32_GGUF FTYPE THREADS OUT
      llama.cpp's llama_model_quantize (llama-quantize without an importance matrix)
  quantize_reference.py numpy F32_GGUF TYPE OUT
      gguf-py's NumPy quants.quantize on every tensor llama-quantize would quantize, tensor by
      tensor from the memory-mapped file, the bytes written to OUT
Each prints one JSON line: seconds, input bytes and this process's peak RSS. Run one
measurement per process so that the peak RSS is that measurement's own.
"""
import ctypes
import json
import os
import resource
import sys
import time


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def llama(src, ftype, threads, dst):
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = int(threads)
    params.ftype = int(ftype)
    start = time.perf_counter()
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    seconds = time.perf_counter() - start
    if rc != 0:
        sys.exit(f"llama_model_quantize failed with {rc}")
    print(json.dumps({"seconds": seconds, "input_bytes": os.path.getsize(src), "peak_rss_mb": peak_rss_mb()}))


def numpy_quantize(src, type_name, dst):
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader
    from gguf.quants import quantize

    qtype = GGMLQuantizationType[type_name]
    start = time.perf_counter()
    reader = GGUFReader(src)
    total = 0
    with open(dst, "wb") as out:
        for t in reader.tensors:
            data = np.asarray(t.data)
            total += data.nbytes
            if data.ndim >= 2 and not t.name.endswith("_norm.weight"):
                out.write(quantize(data, qtype).tobytes())
            else:
                out.write(data.tobytes())
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "input_bytes": total, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    if sys.argv[1] == "llama":
        llama(*sys.argv[2:6])
    elif sys.argv[1] == "numpy":
        numpy_quantize(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
