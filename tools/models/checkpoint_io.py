"""Training checkpoints on disk: torch.save'd objects, written in parts of under 15 MB (PATH.0, PATH.1, ...)
when larger, so that a run's weights can be committed; load_ckpt joins them. Used by train.py (which writes
them), export.py, noise_flow.py, carry_check.py and video_ae.py refine (which read them)."""
import io
import os

import torch


def save_ckpt(path, obj, part_bytes=15 * 2 ** 20):
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    if len(data) <= part_bytes:
        open(path, "wb").write(data)
        return [path]
    paths = []
    for i in range(0, len(data), part_bytes):
        p = f"{path}.{i // part_bytes}"
        open(p, "wb").write(data[i:i + part_bytes])
        paths.append(p)
    return paths


def load_ckpt(path):
    if os.path.exists(path):
        data = open(path, "rb").read()
    else:
        parts, i = [], 0
        while os.path.exists(f"{path}.{i}"):
            parts.append(open(f"{path}.{i}", "rb").read())
            i += 1
        if not parts:
            raise FileNotFoundError(f"{path}: no such checkpoint, whole or in parts ({path}.0, ...)")
        data = b"".join(parts)
    return torch.load(io.BytesIO(data), map_location="cpu")
