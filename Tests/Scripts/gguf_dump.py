#!/usr/bin/env python3
"""Print what gguf-py's GGUFReader sees in a GGUF file, as JSON on stdout.

Used by the Swift tests to prove that files lineage writes read back identically in the
reference implementation. Float values are given as IEEE bit patterns so that the comparison
is exact, 64-bit unsigned values and f64 bit patterns as decimal strings; tensor data is given as hex (tests only use small tensors).

usage: gguf_dump.py FILE [--dequantize]
  --dequantize  also give each tensor's gguf.quants.dequantize() result as float32 LE hex
"""
import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType
from gguf.quants import dequantize


def scalar(vtype, part):
    if vtype == GGUFValueType.STRING:
        return bytes(part).decode("utf-8")
    if vtype == GGUFValueType.FLOAT32:
        return int(np.asarray(part).view(np.uint32)[0])
    if vtype == GGUFValueType.FLOAT64:
        # 64-bit values as decimal strings: JSON readers may lose precision above 2^53
        return str(int(np.asarray(part).view(np.uint64)[0]))
    if vtype == GGUFValueType.UINT64:
        return str(int(part[0]))
    if vtype == GGUFValueType.BOOL:
        return bool(part[0])
    return int(part[0])


def main(path, with_dequantized=False):
    reader = GGUFReader(path)
    out = {
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "kv": [],
        "tensors": [],
    }
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            if name == "GGUF.version":
                out["version"] = int(field.parts[field.data[0]][0])
            continue
        vtype = field.types[0]
        entry = {"key": name, "type": int(vtype)}
        if vtype == GGUFValueType.ARRAY:
            etype = field.types[1] if len(field.types) > 1 else None
            if etype is None:
                # gguf-py records no element type for an empty array; read it from the raw parts
                etype = GGUFValueType(int(field.parts[3][0]))
            entry["elem_type"] = int(etype)
            entry["value"] = [scalar(etype, field.parts[i]) for i in field.data]
        else:
            entry["value"] = scalar(vtype, field.parts[field.data[0]])
        out["kv"].append(entry)
    raw = reader.data
    for t in reader.tensors:
        start = int(t.data_offset)
        data = bytes(raw[start:start + int(t.n_bytes)])
        out["tensors"].append({
            "name": t.name,
            "ne": [int(x) for x in t.shape],
            "type": int(t.tensor_type),
            "offset": int(t.data_offset) - int(reader.data_offset),
            "n_bytes": int(t.n_bytes),
            "data_hex": data.hex(),
        })
        if with_dequantized:
            values = dequantize(np.asarray(t.data), t.tensor_type).astype("<f4")
            out["tensors"][-1]["dequantized_hex"] = values.tobytes().hex()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], "--dequantize" in sys.argv[2:])
