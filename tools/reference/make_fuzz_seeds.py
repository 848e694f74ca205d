#!/usr/bin/python3
"""Seeds for the fuzz corpora (fuzz/corpus/): valid safetensors and configs plus the malformed
shapes the loader tests name. libFuzzer grows the corpus from here; see README (Fuzzing)."""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus")


def st(header, data=b"", length=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def main():
    seeds = {
        "valid_two": st({"__metadata__": {"format": "pt"}, "a": entry("F32", [2, 2], 0, 16),
                         "b": entry("BF16", [3], 16, 22)}, bytes(range(22))),
        "valid_scalar": st({"s": entry("F32", [], 0, 4)}, b"\0\0\x80?"),
        "empty_object": st({}),
        "past_end": st(b"{}", length=1000),
        "huge_length": st(b"{}", length=0xFFFFFFFFFFFFFFF0),
        "invalid_json": st(b'{"a": [1, 2'),
        "not_object": st(b"[1,2,3]"),
        "unknown_dtype": st({"w": entry("Q7", [1], 0, 4)}, b"\0" * 4),
        "overlap": st({"a": entry("F32", [4], 0, 16), "b": entry("F32", [4], 8, 24)}, b"\0" * 24),
        "reversed": st({"w": entry("F32", [0], 8, 4)}, b"\0" * 8),
        "overflow": st({"w": entry("F32", [2**32, 2**32, 16], 0, 4)}, b"\0" * 4),
        "mismatch": st({"w": entry("F32", [3], 0, 16)}, b"\0" * 16),
        "duplicate": st(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                        b'"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"\0" * 8),
        "truncated": b"\x05\x00\x00",
    }
    os.makedirs(os.path.join(ROOT, "safetensors"), exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(ROOT, "safetensors", name), "wb") as f:
            f.write(data)
    configs = {
        "valid": {"architecture": "causal-dit", "version": 1,
                  "arch": {"hidden": 256, "depth": 6, "heads": 4},
                  "vocab": ["fire", "rain"], "sampler": {"steps": 3}},
        "wrong_types": {"arch": {"hidden": "256", "depth": 6.5}, "vocab": [1, 2]},
        "nested": {"a": {"b": {"c": [1, {"d": None}]}}},
    }
    os.makedirs(os.path.join(ROOT, "model_config"), exist_ok=True)
    for name, obj in configs.items():
        with open(os.path.join(ROOT, "model_config", name), "w") as f:
            json.dump(obj, f)
    with open(os.path.join(ROOT, "model_config", "broken"), "w") as f:
        f.write('{\n "a": 1,\n "b": }')


if __name__ == "__main__":
    main()
