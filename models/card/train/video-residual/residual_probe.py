"""residual model: what f = x_hat - prev looks like at t = 1 with the real window and real clean prev.
   usage: /usr/bin/python3 residual_probe.py OUT/ckpt.pt OUT/data.pt"""
import os
import sys

import torch

# the repository's tools/models, from models/card/train/video-residual/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "tools", "models"))
import model as M
from checkpoint_io import load_ckpt
from vocab import tokenize
torch.set_num_threads(2)
ck = load_ckpt(sys.argv[1])
net = M.DriftDiT(ck["cfg"]); net.load_state_dict(ck["state"]); net.eval()
d = torch.load(sys.argv[2])  # OUT/data.pt of the run
fams = d["families"]
torch.manual_seed(0)
for fam in ['aurora', 'clouds', 'stars', 'flames']:
    idx = [i for i, f in enumerate(fams) if f == fam][:16]
    x = torch.stack([d["latents"][i, 4:10] for i in idx]).float()
    x = M.patchify((x - d["mean"]) / d["std"], ck["cfg"]["patch"])
    ids = [tokenize(d["prompts"][i]) for i in idx]
    n = max(len(i) for i in ids)
    lens = torch.tensor([len(i) for i in ids]); idt = torch.tensor([i + [0] * (n - len(i)) for i in ids])
    with torch.no_grad():
        text = net.text_cond(idt, lens, torch.zeros(len(idx), dtype=torch.bool))
        B, L = len(idx), 6
        tt = torch.full((B, L), 1/3); tt[:, -1] = 1.0
        xt = (1 - tt[..., None, None]) * x + tt[..., None, None] * torch.randn_like(x)
        prev = M.frames_before(x)
        vc = net(xt, tt, text, prev)
        x0h = (xt - tt[..., None, None] * vc)[:, -1]
        f = x0h - prev[:, -1]
        target = x[:, -1] - prev[:, -1]
        # the same with the frame before zeroed (the first frame's case)
        prev0 = prev.clone(); prev0[:, -1] = 0
        x0z = (xt - tt[..., None, None] * net(xt, tt, text, prev0))[:, -1]
        cos = torch.nn.functional.cosine_similarity(f.flatten(1), -prev[:, -1].flatten(1)).mean().item()
    print(f"{fam:7s} |f| {f.abs().mean():.3f}  |x_next - prev| {target.abs().mean():.4f}  cos(f, -prev) {cos:+.2f}  "
          f"|x_hat| {x0h.abs().mean():.3f}  x_hat with prev zeroed: error {(x0z - x[:, -1]).abs().mean():.3f}")
