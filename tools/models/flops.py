"""Prints parameters and FLOPs (2 x multiply-adds) per evaluation, per frame and per second of content
for the shipped models at their default sampler settings.   /usr/bin/python3 tools/models/flops.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402

EVALS = {"euler": lambda s: s + 1, "heun": lambda s: 2 * s, "dpmpp-2m": lambda s: s + 1}
CORE_GFLOPS = 50.0  # assumed sustained f32 GFLOP/s of one modern x86 core running oneDNN (AVX-512/AVX2 FMA)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
    for name in ("drift-video", "drift-audio"):
        conf = json.load(open(os.path.join(root, name + ".json")))
        a = conf["arch"]
        cfg = {"hidden": a["hidden"], "tokens": a["tokens"], "in_dim": a["in_dim"], "depth": a["depth"],
               "mlp_ratio": a["mlp_ratio"], "text_dim": a["text_dim"]}
        sd = conf["sampler"]
        per_eval = M.flops_per_eval(cfg, a["window"])
        ev = EVALS[sd["default"]](sd["steps"]) * (2 if sd["guidance"] != 1.0 else 1)
        rate = conf["video"]["fps"] if conf["kind"] == "video" else conf["audio"]["sample_rate"] / conf["audio"]["chunk"]
        print(f"{name}: {conf['params']:,} params; {per_eval / 1e9:.3f} GFLOP per evaluation (window full); "
              f"default {sd['default']} {sd['steps']} steps, guidance {sd['guidance']} -> {ev} evaluations "
              f"= {ev * per_eval / 1e9:.2f} GFLOP per {'frame' if conf['kind'] == 'video' else 'chunk'}; "
              f"{ev * per_eval * rate / 1e9:.1f} GFLOP per second of content")
        if conf["kind"] == "audio":
            print(f"  = {100 * ev * per_eval * rate / 1e9 / CORE_GFLOPS:.1f}% of one core at an assumed "
                  f"{CORE_GFLOPS:.0f} GFLOP/s sustained")


if __name__ == "__main__":
    main()
