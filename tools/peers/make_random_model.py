#!/usr/bin/python3
"""A random-weight model of the default architecture (tools/models/model.py DriftDiT with
video_config / audio_config), for benchmarking before (or without) the trained models.

    make_random_model.py video|audio OUT_STEM [SIZE]
        writes OUT_STEM.safetensors (bf16) + OUT_STEM.json; SIZE (video only) makes the frames
        SIZE x SIZE pixels instead of the default model's (same patch, width, depth: the
        frames/s-against-resolution plot of tools/peers/bench-peers.sh)

Layers that DriftDiT initialises to zero (adaLN, final) get small random values so that every
op does real work. Same seed, same bytes."""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import export  # noqa: E402  (the engine's config format, as the trained models are written)
import model as M  # noqa: E402
import safetensors_io  # noqa: E402
from vocab import VOCAB  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("video", "audio") or \
            (len(sys.argv) == 4 and (sys.argv[1] != "video" or not sys.argv[3].isdigit())):
        sys.exit("usage: make_random_model.py video|audio OUT_STEM [SIZE (video)]")
    kind, stem = sys.argv[1], sys.argv[2]
    torch.manual_seed(1234)
    size = {"width": int(sys.argv[3]), "height": int(sys.argv[3])} if len(sys.argv) == 4 else {}
    cfg = (M.video_config(len(VOCAB), **size) if kind == "video" else M.audio_config(len(VOCAB)))
    if cfg.get("width", 0) % cfg["patch"] or cfg.get("height", 0) % cfg["patch"]:
        sys.exit(f"make_random_model.py: SIZE must be a multiple of the patch ({cfg['patch']})")
    net = M.DriftDiT(cfg).eval()
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.copy_(torch.randn_like(p) * 0.02)
    weights = dict(net.state_dict())
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    safetensors_io.save(stem + ".safetensors", weights, "BF16")
    ck = {"state": weights, "steps": 0, "seconds": 0.0, "hardware": "none", "torch": torch.__version__,
          "batch": 0, "clip": 0, "args": {"lr": 0, "ema": 0, "p_uncond": 0, "seed": 1234}}
    config = export.build_config(cfg, ck, "random", dict(export.SAMPLER_DEFAULTS[kind]))
    config["note"] = "random weights (tools/peers/make_random_model.py)"
    with open(stem + ".json", "w") as f:
        json.dump(config, f, indent=1)


if __name__ == "__main__":
    main()
