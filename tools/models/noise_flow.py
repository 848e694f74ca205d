"""The noise flow: how far a video model's carried starting noise moves from one frame to the next.

With sampler.noise_carry, a frame starts from the noise of the frame before, so the fine detail the noise
decides stays where it was on the screen. Scenes that travel (flames and smoke rise) then stand still: the
picture cannot scroll while its noise is pinned. The noise flow moves the carried noise with the scene: the
model's text conditioning (the prompt's vector, blended as the stream blends it) gives a velocity in latent
cells per frame through a linear head,

    [vy, vx] = noise_flow.weight @ text + noise_flow.bias          (y down, x right)

and the carried noise moves with it: the stream carries a field of noise four times finer than the latent,
rolls it (wrapping round) by the whole sub-cells the velocity has covered, and starts each frame from its
block sums (noise.py flow_*; docs/MODELS.md). The head is not trained by gradient: it is the ridge
regression of the velocities measured on the training data (this file's `measure`) on the prompts'
conditioning (`fit`), fitted at export (`export.py --noise-flow`) on the exported weights.

    noise_flow.py measure --out out/video/flow.pt      (the data's velocities: ~30 s)
    noise_flow.py show --ckpt out/video/ckpt.pt --flow out/video/flow.pt   (the fitted velocity per prompt)
"""
import argparse
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen_video  # noqa: E402
from checkpoint_io import load_ckpt  # noqa: E402
from vocab import SPEEDS, VIDEO_FAMILIES  # noqa: E402

MEASURE_SIZE = 128    # px: the data is rendered this small to measure its motion
MEASURE_GAP = 1       # frames between the two frames compared (the patterns also change shape: few)
MEASURE_SEARCH = 8    # px: the largest shift tried each way (2 cells/frame at 256 px and 8-px cells)
BARE_CLIPS = 16       # clips of each family word alone (and half as many with each speed word)
RIDGE = 1e-3          # the regression's ridge, relative to the conditioning's mean square


def best_shift(a, b, search=MEASURE_SEARCH):
    """a, b [N, S, S] (luminance of two frames of N clips): the shift (dy, dx) in pixels, with sub-pixel
    refinement, that best maps a onto b (b[y, x] ~ a[y - dy, x - dx]), by the least mean absolute difference
    over the centre both share -> float [N, 2]"""
    N, S, _ = a.shape
    m = search
    centre = b[:, m:S - m, m:S - m]
    err = torch.empty(N, 2 * m + 1, 2 * m + 1)
    for i, dy in enumerate(range(-m, m + 1)):
        for j, dx in enumerate(range(-m, m + 1)):
            err[:, i, j] = (centre - a[:, m - dy:S - m - dy, m - dx:S - m - dx]).abs().mean((1, 2))
    flat = err.reshape(N, -1).argmin(1)
    iy, ix = flat // (2 * m + 1), flat % (2 * m + 1)
    out = torch.stack([iy, ix], 1).float() - m
    for axis in range(2):   # a parabola through the minimum and its two neighbours
        for n in range(N):
            y, x = int(iy[n]), int(ix[n])
            c = (y, x)
            lo = (y - 1, x) if axis == 0 else (y, x - 1)
            hi = (y + 1, x) if axis == 0 else (y, x + 1)
            if min(lo) < 0 or max(hi) > 2 * m:
                continue
            e0, e1, e2 = float(err[n][lo]), float(err[n][c]), float(err[n][hi])
            den = e0 - 2 * e1 + e2
            if den > 1e-12:
                out[n, axis] += max(-0.5, min(0.5, 0.5 * (e0 - e2) / den))
    return out


def detail(lum):
    """the luminance less its local mean (a 9-px box): the fine detail the noise decides moves, not the
    still glow or sky behind it -> same shape"""
    x = lum.reshape(-1, 1, *lum.shape[-2:])
    blur = torch.nn.functional.avg_pool2d(x, 9, 1, 4, count_include_pad=False)
    return (x - blur).reshape(lum.shape)


def measure(clips=3000, seed=11, latent_cell_px=8, size=256, log=print):
    """Velocities of the training data: random prompts as datagen_video draws them, each rendered small and
    its motion between two frames MEASURE_GAP apart measured -> {"prompts": [str], "velocity": float [N, 2]
    in latent cells per frame at the model's size}"""
    rng = random.Random(seed)
    specs = [datagen_video.random_spec(rng) for _ in range(clips)]
    # and every family word alone and with each speed word: the prompts people type most, which random
    # prompts (mostly with a colour, a scale or a filler) hold too few of for the fit to place them
    for fam in VIDEO_FAMILIES:
        for word in datagen_video.SYNONYMS[fam]:
            for speed in [None] * BARE_CLIPS + sorted(SPEEDS) * (BARE_CLIPS // 2):
                specs.append(dict(datagen_video.random_spec(rng, fam), word=word, speed=speed, color=None,
                                  scale=None, density=None, filler=None))
    clips = len(specs)
    vel = []
    for i in range(0, clips, 250):
        fr = datagen_video.render(specs[i:i + 250], MEASURE_GAP + 1, MEASURE_SIZE)
        lum = detail(fr.mean(-1))
        vel.append(best_shift(lum[:, 0], lum[:, -1]) / MEASURE_GAP * (size / MEASURE_SIZE) / latent_cell_px)
        log(f"  measured {min(i + 250, clips)}/{clips} clips")
    return {"prompts": [datagen_video.spec_prompt(s) for s in specs], "velocity": torch.cat(vel),
            "families": [s["family"] for s in specs], "cell_px": latent_cell_px, "size": size}


def conditioning(net, prompts):
    """the text conditioning of each prompt as the stream computes it -> [N, D]"""
    import train
    t, lengths = train.pad_ids(prompts, "cpu")
    with torch.no_grad():
        return net.text_cond(t, lengths).float()


def fit(net, flow):
    """The head's (weight [2, D], bias [2]): the ridge regression of the measured velocities on the prompts'
    conditioning, with the empty prompt (unconditional: no motion) among them -> float32 tensors"""
    prompts = list(flow["prompts"]) + [""] * max(1, len(flow["prompts"]) // 50)
    v = torch.cat([flow["velocity"].float(), torch.zeros(len(prompts) - len(flow["prompts"]), 2)])
    X = conditioning(net, prompts).double()
    mean_x, mean_v = X.mean(0), v.double().mean(0)
    Xc, vc = X - mean_x, v.double() - mean_v
    lam = RIDGE * float(Xc.pow(2).sum(1).mean())
    A = Xc.T @ Xc + lam * torch.eye(X.shape[1], dtype=torch.float64)
    W = torch.linalg.solve(A, Xc.T @ vc).T                       # [2, D]
    b = mean_v - W @ mean_x
    return W.float().contiguous(), b.float().contiguous()


def velocity(weight, bias, text):
    """text [B, D] -> [B, 2] cells per frame (float32, the engine's dot products)"""
    return text.float() @ weight.T + bias


def load_net(ckpt):
    """a training checkpoint's network (its EMA weights, as export.py takes them)"""
    import model as M
    ck = load_ckpt(ckpt)
    net = M.DriftDiT(ck["cfg"])
    net.load_state_dict(ck["state"])
    return net.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--out", required=True)
    m.add_argument("--clips", type=int, default=3000)
    s = sub.add_parser("show")
    s.add_argument("--ckpt", required=True)
    s.add_argument("--flow", required=True)
    a = ap.parse_args()
    if a.cmd == "measure":
        f = measure(a.clips)
        torch.save(f, a.out)
        by = {}
        for fam, v in zip(f["families"], f["velocity"]):
            by.setdefault(fam, []).append(v)
        for fam, vs in sorted(by.items()):
            v = torch.stack(vs)
            print(f"{fam:8s} median vy {float(v[:, 0].median()):+.3f} vx {float(v[:, 1].median()):+.3f} cells/frame "
                  f"({len(vs)} clips)")
        print(f"wrote {a.out}")
        return
    net = load_net(a.ckpt)
    flow = torch.load(a.flow)
    W, b = fit(net, flow)
    for p in ["flames", "fast flames", "slow fire", "smoke", "clouds", "rain", "aurora", "stars", "ocean", ""]:
        v = velocity(W, b, conditioning(net, [p]))[0]
        print(f"{p!r:14s} vy {float(v[0]):+.3f} vx {float(v[1]):+.3f} cells/frame")
    pred = velocity(W, b, conditioning(net, flow["prompts"]))
    res = (pred - flow["velocity"]).pow(2).sum() / (flow["velocity"] - flow["velocity"].mean(0)).pow(2).sum()
    print(f"R^2 of the fit on the data: {1 - float(res):.3f}")


if __name__ == "__main__":
    main()
