#!/usr/bin/env python3
"""Print what gguf-py's GGUFReader sees in a GGUF file, as JSON, without the tensor data.

Like gguf_dump.py but for model-sized files: key/values in file order (floats as IEEE bit
patterns so comparisons are exact) and, per tensor, name, ne, type, offset, size and the
SHA-256 of its bytes.

usage: gguf_summary.py FILE
"""
import hashlib
import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType


def scalar(vtype, part):
    if vtype == GGUFValueType.STRING:
        return bytes(part).decode("utf-8")
    if vtype == GGUFValueType.FLOAT32:
        return int(np.asarray(part).view(np.uint32)[0])
    if vtype == GGUFValueType.FLOAT64:
        return str(int(np.asarray(part).view(np.uint64)[0]))
    if vtype == GGUFValueType.UINT64:
        return str(int(part[0]))
    if vtype == GGUFValueType.BOOL:
        return bool(part[0])
    return int(part[0])


def main(path):
    reader = GGUFReader(path)
    out = {"alignment": int(reader.alignment), "data_offset": int(reader.data_offset), "kv": [], "tensors": []}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        entry = {"key": name, "type": int(vtype)}
        if vtype == GGUFValueType.ARRAY:
            etype = field.types[1] if len(field.types) > 1 else GGUFValueType(int(field.parts[3][0]))
            entry["elem_type"] = int(etype)
            entry["value"] = [scalar(etype, field.parts[i]) for i in field.data]
        else:
            entry["value"] = scalar(vtype, field.parts[field.data[0]])
        out["kv"].append(entry)
    raw = reader.data
    for t in reader.tensors:
        start = int(t.data_offset)
        out["tensors"].append({
            "name": t.name,
            "ne": [int(x) for x in t.shape],
            "type": int(t.tensor_type),
            "type_name": t.tensor_type.name,
            "offset": int(t.data_offset) - int(reader.data_offset),
            "n_bytes": int(t.n_bytes),
            "sha256": hashlib.sha256(bytes(raw[start:start + int(t.n_bytes)])).hexdigest(),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
