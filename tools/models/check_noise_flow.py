"""The noise flow's parts (noise_flow.py, noise.py flow_*): the motion measure finds a known shift and the
data's rise, the fit recovers velocities that the conditioning determines, the integer stepping rolls on the
frames docs/MODELS.md gives (negative velocities included, slow ones none), and the fine field's block sums
are unit Gaussian and independent from cell to cell.
  /usr/bin/python3 tools/models/check_noise_flow.py
"""
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import expect, finish  # noqa: E402
import datagen_video  # noqa: E402
import model as M  # noqa: E402
import noise as N  # noqa: E402
import noise_flow  # noqa: E402
from vocab import VOCAB  # noqa: E402

def main():
    # 1. a known shift of random detail, found exactly
    g = torch.Generator().manual_seed(3)
    a = torch.rand(2, 64, 64, generator=g)
    b = torch.roll(a, shifts=(3, -5), dims=(1, 2))
    s = noise_flow.best_shift(a, b)
    expect(torch.allclose(s, torch.tensor([[3.0, -5.0], [3.0, -5.0]]), atol=0.05), f"known shift (3, -5) px: {s[0].tolist()}")

    # 2. the data: flames rise about 0.47 cells per frame (0.35 of the picture per second at 24 fps), aurora stays
    rng = random.Random(5)
    specs = [dict(datagen_video.random_spec(rng, fam), speed=None) for fam in ("flames", "aurora") for _ in range(6)]
    fr = datagen_video.render(specs, noise_flow.MEASURE_GAP + 1, noise_flow.MEASURE_SIZE)
    lum = noise_flow.detail(fr.mean(-1))
    v = noise_flow.best_shift(lum[:, 0], lum[:, -1]) / noise_flow.MEASURE_GAP * (256 / noise_flow.MEASURE_SIZE) / 8
    rise, still = float(v[:6, 0].median()), float(v[6:].abs().max())
    expect(-0.55 < rise < -0.4, f"flames rise {rise:+.3f} cells/frame (the generator: -0.467)")
    expect(still < 0.05, f"aurora moves at most {still:.3f} cells/frame")

    # 3. the fit: velocities that the prompt's conditioning determines are recovered (a random network's)
    cfg = M.video_config(len(VOCAB), width=32, height=32, patch=2, hidden=32, depth=1, heads=2, window=2, text_dim=8)
    torch.manual_seed(0)
    net = M.DriftDiT(cfg).eval()
    with torch.no_grad():
        net.text.null.normal_()
    prompts = [datagen_video.spec_prompt(datagen_video.random_spec(rng)) for _ in range(400)]
    true_w = torch.randn(2, cfg["hidden"]) * 0.05
    text = noise_flow.conditioning(net, prompts)
    flow = {"prompts": prompts, "velocity": text @ true_w.T + torch.tensor([0.1, -0.2])}
    w, bias = noise_flow.fit(net, flow)
    pred = noise_flow.velocity(w, bias, text)
    err = float((pred - flow["velocity"]).abs().max())
    expect(err < 0.02 and w.dtype == torch.float32 and w.shape == (2, cfg["hidden"]),
           f"the fit recovers linear velocities within {err:.4f} cells/frame")

    # 4. integer stepping: 1/256 cell, half to even, none under 8 units; sub-cells of 64 units, floor division
    u = N.flow_units(torch.tensor([[-0.44, 0.02], [0.5 / 256 * 17, 9.0]]))
    expect(u.tolist() == [[-113, 0], [8, 1024]], f"units {u.tolist()} (want [[-113, 0], [8, 1024]])")
    covered, moves = torch.zeros(1, 2, dtype=torch.long), []
    for _ in range(4):
        covered, m = N.flow_step(covered, torch.tensor([[-113, 40]]))
        moves.append(m[0].tolist())
    expect(moves == [[-2, 0], [-2, 1], [-2, 0], [-2, 1]], f"sub-cells crossed per frame {moves}")

    # 5. the fine field's block sums: unit Gaussian, independent cells; a carried and rolled field too
    field = N.gaussian(1, 0, 0, 32 * 4 * 32 * 4 * 8).reshape(128, 128, 8)
    x = N.flow_block_sums(field)
    nxt = N.flow_field_start(field, N.gaussian(1, 1, 0, field.size).reshape(field.shape), 0.95, (-3, 2))
    y = N.flow_block_sums(nxt)
    neighbour = float(np.corrcoef(x[:, :-1].ravel(), x[:, 1:].ravel())[0, 1])
    expect(x.shape == (32, 32, 8) and abs(float(x.std()) - 1) < 0.03 and abs(float(y.std()) - 1) < 0.03
           and abs(neighbour) < 0.05, f"block sums: std {x.std():.3f} (carried {y.std():.3f}), "
           f"neighbour correlation {neighbour:+.3f}")
    # rolled three sub-cells up and two right, a cell's 4 x 4 sub-cells keep 1 x 2 of their own noise
    same = float(np.corrcoef(x.ravel(), y.ravel())[0, 1])
    expect(0.05 < same < 0.2, f"a frame after a roll of (-3, +2) sub-cells, its noise keeps {same:.3f} of a cell's "
                              "(0.95 x 2/16 = 0.119)")
    finish()


if __name__ == "__main__":
    main()
