"""Model-card figures, measured (never on model output for training the judge):

  /usr/bin/python3 tools/models/evaluate.py classifiers            # train + test the judges on fresh procedural data
  /usr/bin/python3 tools/models/evaluate.py adherence video   # adherence + temporal coherence (PyTorch reference)
  /usr/bin/python3 tools/models/evaluate.py stability video --frames N
  /usr/bin/python3 tools/models/evaluate.py audio [--drift-gen build/gen/drift-gen]   # the audio model, judged
                                                    # on the C engine's output (tools/models/audio_eval.py)
  /usr/bin/python3 tools/models/evaluate.py video [--drift-gen PATH] [--frames N] [--seeds N]   # the video
                                                    # model on the C engine's output (tools/models/video_eval.py)

The judges are small MLPs over hand-made features (video: colour, coarse layout, profiles, gradients;
audio: band energies, level, crest factor, flatness, periodicity; colour: the video features plus
chromaticity and hue statistics), trained on data from the procedural generators with seeds disjoint
from the training run's. The colour judge names the colour word of a video frame (violet and purple are
one colour in vocab.py, so one class), trained on frames of every family with every colour word.
Results go to models/card/results.json.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen_audio  # noqa: E402
import datagen_video  # noqa: E402
import reference as R  # noqa: E402
from vocab import AUDIO_FAMILIES, COLORS, VIDEO_FAMILIES  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CARD = os.path.join(ROOT, "models", "card")
CLS_DIR = os.path.join(ROOT, "out", "eval")
EVAL_SEED = 990001  # disjoint from the training run's seeds (1) and the golden seed (7)


def video_features(fr):
    """fr [N, H, W, 3] in [0, 1] -> [N, F]"""
    x = fr.permute(0, 3, 1, 2)
    lum = x.mean(1, keepdim=True)
    f = [F.adaptive_avg_pool2d(x, 8).flatten(1),
         F.adaptive_avg_pool2d(lum, (16, 1)).flatten(1), F.adaptive_avg_pool2d(lum, (1, 16)).flatten(1),
         x.mean((2, 3)), x.std((2, 3))]
    for s in (1, 2, 4):
        l = F.avg_pool2d(lum, s) if s > 1 else lum
        f += [(l[..., :, 1:] - l[..., :, :-1]).abs().mean((1, 2, 3))[:, None],
              (l[..., 1:, :] - l[..., :-1, :]).abs().mean((1, 2, 3))[:, None]]
    f.append((lum - F.avg_pool2d(lum, 5, 1, 2)).abs().mean((1, 2, 3))[:, None])
    hist = torch.stack([((lum >= a / 8) & (lum < (a + 1) / 8 + (a == 7))).float().mean((1, 2, 3)) for a in range(8)], 1)
    f.append(hist)
    return torch.cat(f, 1)


# colour classes: the words of vocab.COLORS, words with the same RGB (violet, purple) as one class
COLOR_CLASSES = []
COLOR_CLASS = {}
for _w, _rgb in COLORS.items():
    _same = [c for c in COLOR_CLASSES if COLORS[c] == _rgb]
    if not _same:
        COLOR_CLASSES.append(_w)
    COLOR_CLASS[_w] = COLOR_CLASSES.index(_same[0] if _same else _w)


def color_features(fr):
    """fr [N, H, W, 3] in [0, 1] -> [N, F]: video_features + chromaticity (brightness-weighted, and of the
    brightest tenth of the pixels) + a 12-bin hue histogram weighted by saturation x value"""
    x = fr.reshape(fr.shape[0], -1, 3)
    s = x.sum(2, keepdim=True) + 1e-4
    chrom = x / s                                                     # [N, P, 3]
    w = s / s.sum(1, keepdim=True)
    wchrom = (chrom * w).sum(1)
    lum = s[..., 0]
    top = lum >= torch.quantile(lum, 0.9, dim=1, keepdim=True)
    topcol = (x * top[..., None]).sum(1) / top.sum(1, keepdim=True)
    mx, mn = x.max(2).values, x.min(2).values
    sat = (mx - mn) * mx
    r, g, b = x.unbind(2)
    hue = torch.atan2(math.sqrt(3) * (g - b), 2 * r - g - b)          # [-pi, pi]
    bins = ((hue + math.pi) / (2 * math.pi) * 12).long().clamp(0, 11)
    hist = torch.zeros(x.shape[0], 12).scatter_add_(1, bins, sat)
    hist = hist / (hist.sum(1, keepdim=True) + 1e-6)
    return torch.cat([video_features(fr), wchrom, topcol, hist, sat.mean(1, keepdim=True)], 1)


def audio_features(ch):
    """ch [N, 2048] PCM -> [N, F]"""
    n = ch.shape[1]
    w = torch.hann_window(n, periodic=False)
    mag = torch.fft.rfft(ch * w).abs() ** 2
    freqs = torch.fft.rfftfreq(n, 1 / 24000)
    edges = np.geomspace(40, 12000, 33)
    bands = torch.stack([mag[:, (freqs >= edges[i]) & (freqs < edges[i + 1])].sum(1) for i in range(32)], 1)
    tot = bands.sum(1, keepdim=True) + 1e-10
    shape = torch.log(bands / tot + 1e-8)
    rms = ch.pow(2).mean(1).sqrt()
    crest = ch.abs().max(1).values / (rms + 1e-8)
    flat = torch.exp(torch.log(mag + 1e-10).mean(1)) / (mag.mean(1) + 1e-10)
    ac = torch.fft.irfft(torch.fft.rfft(ch, 2 * n).abs() ** 2, 2 * n)[:, :n]
    ac = ac / (ac[:, :1] + 1e-10)
    per = ac[:, 20:800].max(1).values
    # short-time energy variation (impulsiveness) over 16 sub-blocks
    e = ch.reshape(ch.shape[0], 16, -1).pow(2).mean(2)
    var = (torch.log(e + 1e-8).std(1))
    return torch.cat([shape, torch.log(rms + 1e-6)[:, None], torch.log(crest)[:, None],
                      torch.log(flat + 1e-10)[:, None], per[:, None], var[:, None]], 1)


def make_video_data(n_per_family, seed, frames=4):
    rng = random.Random(seed)
    X, Y = [], []
    for fi, fam in enumerate(VIDEO_FAMILIES):
        specs = [datagen_video.random_spec(rng, fam) for _ in range(n_per_family)]
        fr = datagen_video.render(specs, frames, 128)
        X.append(video_features(fr.reshape(-1, 128, 128, 3)))
        Y += [fi] * (n_per_family * frames)
    return torch.cat(X), torch.tensor(Y)


def make_color_data(n_per_color, seed, frames=4):
    """every colour word on every family in turn, the other modifiers as in training"""
    rng = random.Random(seed)
    X, Y = [], []
    for ci, col in enumerate(COLORS):
        specs = [dict(datagen_video.random_spec(rng, VIDEO_FAMILIES[(ci + i) % len(VIDEO_FAMILIES)]), color=col)
                 for i in range(n_per_color)]
        fr = datagen_video.render(specs, frames, 128)
        X.append(color_features(fr.reshape(-1, 128, 128, 3)))
        Y += [COLOR_CLASS[col]] * (n_per_color * frames)
    return torch.cat(X), torch.tensor(Y)


def make_audio_data(n_per_family, seed, chunks=4):
    rng = random.Random(seed)
    X, Y = [], []
    for fi, fam in enumerate(AUDIO_FAMILIES):
        specs = [datagen_audio.random_spec(rng, fam) for _ in range(n_per_family)]
        wav = datagen_audio.render(specs, 2048 * chunks)
        X.append(audio_features(wav.reshape(-1, 2048)))
        Y += [fi] * (n_per_family * chunks)
    return torch.cat(X), torch.tensor(Y)


class Judge(nn.Module):
    def __init__(self, nf, nc):
        super().__init__()
        self.register_buffer("mu", torch.zeros(nf))
        self.register_buffer("sd", torch.ones(nf))
        self.net = nn.Sequential(nn.Linear(nf, 128), nn.ReLU(), nn.Linear(128, nc))

    def forward(self, f):
        return self.net((f - self.mu) / self.sd)


def train_judge(X, Y, nc, iters=1500):
    torch.manual_seed(0)
    j = Judge(X.shape[1], nc)
    j.mu.copy_(X.mean(0))
    j.sd.copy_(X.std(0) + 1e-4)
    opt = torch.optim.Adam(j.parameters(), 3e-3, weight_decay=1e-4)
    for i in range(iters):
        idx = torch.randint(0, len(X), (256,))
        loss = F.cross_entropy(j(X[idx]), Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return j


def results():
    p = os.path.join(CARD, "results.json")
    return json.load(open(p)) if os.path.exists(p) else {}


def save_results(r):
    os.makedirs(CARD, exist_ok=True)
    with open(os.path.join(CARD, "results.json"), "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
        f.write("\n")


def cmd_classifiers(a):
    os.makedirs(CLS_DIR, exist_ok=True)
    r = results()
    for kind, make, fams, n in (("video", make_video_data, VIDEO_FAMILIES, 60), ("audio", make_audio_data, AUDIO_FAMILIES, 80),
                                ("color", make_color_data, COLOR_CLASSES, 60)):
        if a.kind and kind != a.kind:
            continue
        t = time.time()
        X, Y = make(n, EVAL_SEED)
        Xt, Yt = make(n // 3, EVAL_SEED + 1)
        j = train_judge(X, Y, len(fams))
        with torch.no_grad():
            acc = (j(Xt).argmax(1) == Yt).float().mean().item()
        torch.save(j.state_dict(), os.path.join(CLS_DIR, f"judge-{kind}.pt"))
        r[f"judge_{kind}_heldout_accuracy"] = round(acc, 4)
        print(f"{kind} judge: {len(X)} training examples, held-out accuracy on fresh procedural data {acc:.3f} "
              f"({time.time() - t:.0f}s)", flush=True)
    save_results(r)


JUDGE_INPUT = {"video": (VIDEO_FAMILIES, video_features, (1, 128, 128, 3)),
               "audio": (AUDIO_FAMILIES, audio_features, (1, 2048)),
               "color": (COLOR_CLASSES, color_features, (1, 128, 128, 3))}


def load_judge(kind):
    fams, feats, shape = JUDGE_INPUT[kind]
    j = Judge(feats(torch.zeros(*shape)).shape[1], len(fams))
    path = os.path.join(CLS_DIR, f"judge-{kind}.pt")
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run tools/models/evaluate.py classifiers --kind {kind} first")
    j.load_state_dict(torch.load(path))
    return j.eval(), fams


def generate(kind, prompts, seeds, frames, every=1, callback=None, **kw):
    """video frames of the PyTorch reference. (Audio is judged on the C engine's output: cmd_audio.)"""
    net, conf = R.load(os.path.join(ROOT, "models", f"drift-{kind}.json"))
    st = R.Stream(net, conf, prompts, seeds, **kw)
    outs = []
    for f in range(frames):
        x = st.next()
        if f % every == 0:
            y = ((x + 1) / 2).clamp(0, 1)
            outs.append(y)
            if callback:
                callback(f, y)
    return torch.stack(outs, 1), st   # [B, F, ...]


def coherence(fr):  # [B, F, H, W, 3] -> [B] mean |frame_t - frame_t-1|
    return (fr[:, 1:] - fr[:, :-1]).abs().mean((1, 2, 3, 4))


def cmd_adherence(a):
    torch.set_num_threads(a.threads)
    kind = a.kind
    j, fams = load_judge(kind)
    seeds = [EVAL_SEED + 100 + i for i in range(a.seeds)]
    prompts = [f for f in fams for _ in seeds]
    extra = [p for p in a.extra.split(",") if p]
    t = time.time()
    out, st = generate(kind, prompts + extra, seeds * len(fams) + [EVAL_SEED + 300 + i for i in range(len(extra))],
                       a.frames)
    if extra:
        torch.save({"prompts": prompts + extra, "frames": out.clone()},
                   os.path.join(CLS_DIR, f"adherence-{kind}-all.pt"))
        out = out[:len(prompts)]
    el = time.time() - t
    r = results()
    with torch.no_grad():
        pred = j(video_features(out.reshape(-1, 128, 128, 3))).argmax(1).reshape(len(prompts), -1)
    want = torch.tensor([fams.index(p) for p in prompts])[:, None]
    ok = (pred == want).float()
    per = {f: round(ok[i * len(seeds):(i + 1) * len(seeds)].mean().item(), 3) for i, f in enumerate(fams)}
    res = {"adherence": round(ok.mean().item(), 4), "per_family": per, "streams": len(prompts),
           "frames_per_stream": a.frames, "seconds": round(el, 1)}
    print(f"{kind} adherence: {res['adherence']:.3f} of {ok.numel()} generated "
          f"frames labelled with the prompted family; per family {per}")
    gen_c = coherence(out)
    rng = random.Random(EVAL_SEED + 7)
    specs = [dict(datagen_video.random_spec(rng, f), color=None, speed=None, scale=None, density=None, filler=None)
             for f in fams for _ in range(4)]
    data = datagen_video.render(specs, a.frames, 128)
    dat_c = coherence(data)
    coh = {}
    for i, f in enumerate(fams):
        g = gen_c[i * len(seeds):(i + 1) * len(seeds)].mean().item()
        d = dat_c[i * 4:(i + 1) * 4].mean().item()
        coh[f] = {"generated": round(g, 5), "data": round(d, 5), "ratio": round(g / d, 3)}
    inside = sum(1 for v in coh.values() if 0.5 <= v["ratio"] <= 2.0)
    res["coherence"] = coh
    res["coherence_families_within_0.5_2x"] = inside
    print(f"temporal coherence (mean |frame diff|, generated / data): "
          + ", ".join(f"{f} {v['ratio']:.2f}" for f, v in coh.items()) + f"; {inside}/{len(fams)} within 0.5x-2x")
    torch.save(out[:, :8].clone(), os.path.join(CLS_DIR, "adherence-video-frames.pt"))
    r[f"{kind}_adherence"] = res
    save_results(r)


def cmd_stability(a):
    torch.set_num_threads(a.threads)
    kind = a.kind
    j, fams = load_judge(kind)
    prompts = a.prompts.split(",") if a.prompts else list(fams)
    seeds = [EVAL_SEED + 500 + i for i in range(len(prompts))]
    stats = []

    def cb(f, y):
        with torch.no_grad():
            feats = video_features(y)
            pred = j(feats).argmax(1)
        flat = y.reshape(y.shape[0], -1)
        stats.append((f, flat.mean(1), flat.std(1), pred))
        if f % (a.every * 20) == 0:
            print(f"frame {f}: mean {flat.mean(1).tolist()} std {flat.std(1).tolist()}", flush=True)
    t = time.time()
    generate(kind, prompts, seeds, a.frames, every=a.every, callback=cb)
    el = time.time() - t
    want = torch.tensor([fams.index(p) for p in prompts])
    ok = torch.stack([(s[3] == want).float() for s in stats])           # [n, B]
    means = torch.stack([s[1] for s in stats])
    stds = torch.stack([s[2] for s in stats])
    # the training data's range for the same prompts
    rng = random.Random(EVAL_SEED + 9)
    specs = [datagen_video.random_spec(rng, p) for p in prompts for _ in range(16)]
    d = datagen_video.render(specs, 1, 128).reshape(len(prompts), 16, -1)
    dm, ds = d.mean(2), d.std(2)
    in_range = ((means >= dm.min(1).values) & (means <= dm.max(1).values) &
                (stds >= ds.min(1).values) & (stds <= ds.max(1).values)).float()
    last = slice(len(stats) // 2, None)
    res = {"frames": a.frames, "checked_every": a.every, "prompts": prompts, "seconds": round(el, 1),
           "adherence_all": round(ok.mean().item(), 4), "adherence_second_half": round(ok[last].mean().item(), 4),
           "mean_std_inside_data_range": round(in_range.mean().item(), 4),
           "std_first_last": [[round(v, 4) for v in stds[0].tolist()], [round(v, 4) for v in stds[-1].tolist()]]}
    print(f"{kind} stability over {a.frames} frames ({len(prompts)} streams, every {a.every}th checked): adherence "
          f"{res['adherence_all']:.3f} (second half {res['adherence_second_half']:.3f}); frame mean and std inside "
          f"the training data's range for {100 * res['mean_std_inside_data_range']:.1f}% of checks")
    r = results()
    r[f"{kind}_stability"] = res
    save_results(r)


def cmd_audio(a):
    import audio_eval
    torch.set_num_threads(a.threads)
    j, _ = load_judge("audio")
    res = audio_eval.evaluate(a.drift_gen, a.model, j, a.seeds, a.seconds, a.long_chunks, CARD, a.tune_seeds)
    r = results()
    r["audio_engine"] = res
    save_results(r)


def cmd_video(a):
    import video_eval
    torch.set_num_threads(a.threads)
    judges = (load_judge("video")[0], load_judge("color")[0])
    res = video_eval.evaluate(a.drift_gen, a.model, judges, a.seeds, a.clip, a.frames, a.jobs, CARD,
                              log=lambda m: print(m, flush=True))
    print(f"\nvideo model on drift-gen output: {res['frames_generated']} frames generated at "
          f"{res['frames_per_second']} frames/s, {res['seconds']:.0f} s in all")
    video_eval.table(res["checks"])
    r = results()
    r["video_engine"] = res
    save_results(r)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("classifiers")
    s.add_argument("--kind", choices=["video", "audio", "color"])
    s = sub.add_parser("audio")
    s.add_argument("--drift-gen", default=os.path.join(ROOT, "build", "gen", "drift-gen"))
    s.add_argument("--model", default=os.path.join(ROOT, "models", "drift-audio"))
    s.add_argument("--seeds", type=int, default=4)
    s.add_argument("--seconds", type=float, default=4.0)
    s.add_argument("--long-chunks", type=int, default=3000, help="chunks per family in the long runs (0: none)")
    s.add_argument("--tune-seeds", type=int, default=128, help="generated clips per prompt for the tuning figure")
    s.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("video")
    s.add_argument("--drift-gen", default=os.path.join(ROOT, "build", "gen", "drift-gen"))
    s.add_argument("--model", default=os.path.join(ROOT, "models", "drift-video.json"))
    s.add_argument("--frames", type=int, default=3000, help="frames of each long run (at least 2)")
    s.add_argument("--seeds", type=int, default=2, help="seeds per family word for adherence and structure")
    s.add_argument("--clip", type=int, default=48, help="frames per adherence clip; colour clips are half as long, "
                   "and the prompt changes at this frame")
    s.add_argument("--jobs", type=int, default=2, help="drift-gen runs at a time (each with cores/jobs threads)")
    s.add_argument("--threads", type=int, default=1, help="torch threads for the analysis")
    s = sub.add_parser("adherence")
    s.add_argument("kind", choices=["video"])
    s.add_argument("--seeds", type=int, default=2)
    s.add_argument("--frames", type=int, default=8)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--extra", default="", help="comma-separated extra prompts generated alongside (for figures)")
    s = sub.add_parser("stability")
    s.add_argument("kind", choices=["video"])
    s.add_argument("--frames", type=int, default=3000)
    s.add_argument("--every", type=int, default=10)
    s.add_argument("--prompts", default="")
    s.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    {"classifiers": cmd_classifiers, "adherence": cmd_adherence, "stability": cmd_stability,
     "audio": cmd_audio, "video": cmd_video}[a.cmd](a)


if __name__ == "__main__":
    main()
