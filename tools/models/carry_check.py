"""Does a trained model carry the picture (or sound) on from one frame to the next?

  /usr/bin/python3 tools/models/carry_check.py RUN_DIR [--ckpt RUN_DIR/ckpt.pt] [--clips 256]

For clips of the run's cached training set (RUN_DIR/data.pt, audio or video latents), the context
frames are given clean and the last frame is noised to t = 1, 0.6 and 0.3; the model's clean-frame
prediction of that last frame is compared, per family, with two baselines that need no model:
copying the frame before, and the data's mean frame. A model whose error at t = 1 is above the
copy's has not learnt to continue what its window holds: each frame it makes is close to the
family's average (blur for video, a spectral wash for audio), and long streams drift towards it.
This is how the CPU recipes' loss weighting (train.py --loss-t-min) and the frame-before input
(--previous-frame) were chosen; the figures go in the model card.
"""
import argparse
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio_data  # noqa: E402
from checkpoint_io import load_ckpt  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402
import video_data  # noqa: E402


def check(net, crops, families, clips, batch=32, levels=(1.0, 0.6, 0.3)):
    """{t: {family: (model, copy, mean)}} mean squared errors of the last frame, model space."""
    sums = collections.defaultdict(lambda: torch.zeros(4, dtype=torch.float64))
    with torch.no_grad():
        for _ in range(max(1, clips // batch)):
            x0, prompts = crops.batch(batch)
            fams = [families[i] for i in crops.last_index.tolist()]
            ids, lens = train.pad_ids(prompts, "cpu")
            text = net.text_cond(ids, lens, torch.zeros(batch, dtype=torch.bool))
            mean_frame = x0[:, -1].mean(0, keepdim=True)
            for tl in levels:
                t = torch.zeros(x0.shape[:2])
                t[:, -1] = tl
                xt = (1 - t[..., None, None]) * x0 + t[..., None, None] * torch.randn_like(x0)
                v = net(xt, t, text)
                x0_hat = xt[:, -1] - tl * v[:, -1]
                errs = torch.stack([((x0_hat - x0[:, -1]) ** 2).mean((1, 2)),
                                    ((x0[:, -2] - x0[:, -1]) ** 2).mean((1, 2)),
                                    ((mean_frame - x0[:, -1]) ** 2).mean((1, 2))], 1).double()
                for f, e in zip(fams, errs):
                    sums[(tl, f)][:3] += e
                    sums[(tl, f)][3] += 1
    out = collections.defaultdict(dict)
    for (tl, f), s in sorted(sums.items()):
        out[tl][f] = tuple(round(float(v / s[3]), 4) for v in s[:3])
    return dict(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="a training run's directory (data.pt, ckpt.pt)")
    ap.add_argument("--ckpt", help="default: RUN/ckpt.pt")
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    ck = load_ckpt(a.ckpt or os.path.join(a.run, "ckpt.pt"))
    cfg = ck["cfg"]
    net = M.DriftDiT(cfg)
    net.load_state_dict(ck["state"])
    net.eval()
    data = torch.load(os.path.join(a.run, "data.pt"))
    frames = ck.get("clip") or cfg["window"] + 1
    if "logmag" in data:   # the audio cache (audio_data.py); else video latents (video_data.py)
        crops = audio_data.Crops(data, frames, cfg["tokens"], a.seed)
    else:
        crops = video_data.Crops(data, frames, cfg["patch"], a.seed)
    res = check(net, crops, data["families"], a.clips)
    print(f"{a.ckpt or os.path.join(a.run, 'ckpt.pt')}: {ck.get('steps')} steps; clean-frame error of the last "
          f"frame of {frames} (context clean), model space")
    print(f"{'t':>4} {'family':<10} {'model':>8} {'copy prev':>10} {'data mean':>10}")
    for tl, per in res.items():
        for f, (m, c, mu) in per.items():
            flag = "  <- worse than copying" if m > c else ""
            print(f"{tl:>4} {f:<10} {m:>8.4f} {c:>10.4f} {mu:>10.4f}{flag}")


if __name__ == "__main__":
    main()
