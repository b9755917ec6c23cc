#!/usr/bin/env python3
"""Write a GGUF file with gguf-py's GGUFWriter holding every metadata type and a few tensors.

The Swift tests read this file with lineage's GGUFReader and compare against gguf_dump.py.

usage: gguf_write_sample.py OUT_FILE
"""
import sys

import numpy as np
from gguf import GGUFWriter, GGUFValueType, GGMLQuantizationType


def main(path):
    w = GGUFWriter(path, arch="llama")
    w.add_uint8("test.u8", 250)
    w.add_int8("test.i8", -120)
    w.add_uint16("test.u16", 65000)
    w.add_int16("test.i16", -32000)
    w.add_uint32("test.u32", 4_000_000_000)
    w.add_int32("test.i32", -2_000_000_000)
    w.add_float32("test.f32", 0.1)
    w.add_uint64("test.u64", 18_000_000_000_000_000_000)
    w.add_int64("test.i64", -9_000_000_000_000_000_000)
    w.add_float64("test.f64", -1.0e-300)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "héllo wörld ✓")
    w.add_array("test.arr_str", ["a", "", "ünï", "<0x0A>"])
    w.add_key_value("test.arr_f32", [1.5, -0.0, 3.25e-5], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT32)
    w.add_key_value("test.arr_i32", [1, -2, 3], GGUFValueType.ARRAY, sub_type=GGUFValueType.INT32)
    w.add_key_value("test.arr_u8", [0, 255], GGUFValueType.ARRAY, sub_type=GGUFValueType.UINT8)
    w.add_key_value("test.arr_bool", [True, False, True], GGUFValueType.ARRAY, sub_type=GGUFValueType.BOOL)
    w.add_key_value("test.arr_f64", [2.5, -1e100], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT64)
    w.add_key_value("test.arr_u64", [1, 2**63], GGUFValueType.ARRAY, sub_type=GGUFValueType.UINT64)

    rng = np.random.default_rng(7)
    w.add_tensor("token_embd.weight", rng.standard_normal((3, 8), dtype=np.float32))
    w.add_tensor("output_norm.weight", rng.standard_normal(5).astype(np.float16))
    q8 = rng.integers(0, 256, size=(2, 34), dtype=np.uint8)
    w.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.ffn_up.weight", rng.integers(-9, 9, size=(2, 1, 3, 2), dtype=np.int32))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
