"""Minimal safetensors reader/writer (F32 / BF16 / I64), no dependencies beyond numpy and torch.

Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [a, b]},
"__metadata__": {str: str}}, then the raw little-endian data; offsets are relative to the data start.
Tensors are written in sorted name order, 8-byte aligned header (padded with spaces).
"""
import json
import struct

import numpy as np
import torch


def _to_bytes(t, dtype):
    t = t.detach().cpu().contiguous()
    if dtype == "F32":
        return t.float().numpy().astype("<f4").tobytes()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    if dtype == "I64":
        return t.long().numpy().astype("<i8").tobytes()
    raise ValueError(dtype)


def save(path, tensors, dtype="F32", metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        dt = "I64" if not t.is_floating_point() else dtype
        b = _to_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """-> (dict name -> float32/int64 torch tensor, metadata dict)"""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        raw = data[base + a: base + b]
        if e["dtype"] == "F32":
            arr = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        elif e["dtype"] == "BF16":
            arr = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16).float()
        elif e["dtype"] == "I64":
            arr = torch.from_numpy(np.frombuffer(raw, dtype="<i8").copy())
        else:
            raise ValueError(f"{path}: unsupported dtype {e['dtype']} for {name}")
        out[name] = arr.reshape(e["shape"])
    return out, meta
