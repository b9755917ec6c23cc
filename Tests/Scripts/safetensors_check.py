#!/usr/bin/env python3
"""Cross-check lineage's safetensors reader against the reference `safetensors` package.

usage:
  safetensors_check.py write OUT_FILE   write a sample file with safetensors.numpy.save_file
  safetensors_check.py read IN_FILE     print every tensor (dtype, shape, values) as JSON

Exits 3 when the safetensors package is not installed, so the Swift test can skip instead of
failing on a machine without it.
"""
import json
import sys

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import save_file
except ImportError:
    sys.exit(3)


def write(path):
    tensors = {
        "model.embed_tokens.weight": (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 3,
        "model.norm.weight": np.array([1.0, -2.5, 65504.0, 6.1035156e-05], dtype=np.float16),
        "lm_head.weight": np.arange(6, dtype=np.int32).reshape(2, 3),
        "flags": np.array([0, 255, 7], dtype=np.uint8),
    }
    save_file(tensors, path, metadata={"format": "pt", "note": "héllo"})


def read(path):
    out = {}
    with safe_open(path, "np") as f:
        out["__metadata__"] = f.metadata()
        for name in f.keys():
            arr = f.get_tensor(name)
            out[name] = {"dtype": str(arr.dtype), "shape": list(arr.shape),
                         "values": [float(v) for v in arr.astype(np.float64).ravel()]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
