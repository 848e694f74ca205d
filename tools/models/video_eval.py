"""The video model judged on what the C engine produces (drift-gen PNG frames), against fresh
procedural data. Run through tools/models/evaluate.py video; writes models/card/results.json
("video_engine") and models/card/video-grid.png. The judges (evaluate.py classifiers) are trained only
on fresh procedural frames at 128x128; generated frames of another size are area-averaged to it.

Figures (the video model's bars in brackets):
- adherence: the family judge labels every frame of short clips generated for each family word
  (datagen_video.SYNONYMS), several seeds [>= 85 % over the families, every family >= 60 %];
- colour: the colour judge labels every frame of clips prompted "<colour> <family word>" (a quarter
  of the adherence clips' length), every colour word of vocab.COLORS on every family [>= 80 %];
- structure and detail: per family, the mean gradient magnitude (luminance) and the mean |frame_t -
  frame_t-1| of the adherence clips over the training data's (datagen_video.render at the model's
  size and fps, same prompts, quantised to 8 bits like the PNGs) [both within 0.6x-1.6x for >= 9 of
  10 families];
- patch grid: squared-gradient energy across the boundaries of the latent cells (every latent.factor
  pixels; arch.patch for a pixel-space model) and of the transformer's tokens (factor * patch) over
  the energy everywhere else, for the clips, for the long runs' last 500 frames, and for the
  training data as the reference [0.9-1.1];
- long runs: N frames per family word and per modifier prompt of the grid; adherence over the last
  500 [>= 80 %] and the share of those frames whose mean, std and gradient magnitude all lie inside
  the range of training clips for the same prompt (reported; the issue names no bar);
- prompt change: drift-gen --then switches the prompt mid-stream; frames until the judge reports the
  new family for 6 consecutive frames [<= 48 frames, 2 s];
- models/card/video-grid.png: every family and two modifiers at frames 0, 100 and the last, generated
  above, training data below.

Cost: drift-gen runs `jobs` at a time (default 2, one OpenMP thread each on 2 cores); the training data
is rendered meanwhile. The default (--seeds 2 --clip 48 --frames 3000) generates 21 words x 2 x 48 +
110 colour clips x 12 + 12 long runs x 3000 + 5 prompt changes x 144 = 40,056 frames, 90 % of them in
the long runs: about 33 / 45 / 67 minutes at 20 / 15 / 10 frames/s (the machine's total). The run
prints the frames it will generate, then after each phase the measured rate and the time left;
--frames 1900 brings it to about 30 minutes at 15 frames/s.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

import datagen_video
from datagen_video import SYNONYMS
from vocab import COLORS, DENSITY, FAMILY_WORDS, FILLER, SCALES, SPEEDS, VIDEO_FAMILIES

JUDGE_SIZE = 128                  # the judges' training size (evaluate.make_video_data)
SEED = 9100                       # generated streams use SEED + k
DATA_SEED = 990101                # procedural reference clips (disjoint from training's 1, the judges' 990001..)
EXTRA = ["slow violet flames", "large red aurora"]
SWITCH_PAIRS = [("flames", "water"), ("clouds", "plasma"), ("rain", "aurora"), ("ocean", "lava"), ("stars", "smoke")]
SWITCH_AFTER = 96                 # frames watched after a prompt change (at least bar + run with short clips)
SWITCH_RUN = 6                    # consecutive frames of the new family that count as reached
GRID_REF_CLIPS = 24               # data clips per family for the patch-grid reference
LAST = 500                        # long runs: frames judged at the end
BATCH = 64                        # frames analysed at a time

BAR = {"adherence": 0.85, "adherence_family": 0.60, "color": 0.80, "ratio": (0.6, 1.6), "ratio_families": 9,
       "grid": (0.9, 1.1), "long_adherence": 0.80, "switch_frames": 48}


# ---- reading frames -----------------------------------------------------------------------------

def _read_png_zlib(path):
    """8-bit RGB non-interlaced PNG (what drift-gen's libpng writes), with zlib + struct only."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w, h = 8, [], None, None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype != 2 or interlace:
                raise ValueError(f"{path}: only 8-bit RGB non-interlaced PNGs are read here")
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + 3 * w)
    out = np.empty((h, 3 * w), np.uint8)
    prev = np.zeros(3 * w, np.int64)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        if f == 0:
            cur = line
        elif f == 1:
            cur = np.cumsum(line.reshape(w, 3), axis=0).reshape(-1) & 255
        elif f == 2:
            cur = (line + prev) & 255
        elif f in (3, 4):
            ln, up, cur = line.tolist(), prev.tolist(), [0] * (3 * w)
            for i in range(3 * w):
                a = cur[i - 3] if i >= 3 else 0
                if f == 3:
                    cur[i] = (ln[i] + ((a + up[i]) >> 1)) & 255
                else:
                    c = up[i - 3] if i >= 3 else 0
                    p = a + up[i] - c
                    pa, pb, pc = abs(p - a), abs(p - up[i]), abs(p - c)
                    cur[i] = (ln[i] + (a if pa <= pb and pa <= pc else up[i] if pb <= pc else c)) & 255
            cur = np.array(cur, np.int64)
        else:
            raise ValueError(f"{path}: bad PNG filter {f}")
        out[y] = cur
        prev = cur
    return out.reshape(h, w, 3)


def read_png(path):
    """-> uint8 [H, W, 3]"""
    try:
        from PIL import Image
    except ImportError:
        return _read_png_zlib(path)
    with Image.open(path) as im:
        if im.mode != "RGB":
            raise ValueError(f"{path}: {im.mode} PNG, drift-gen writes RGB")
        return np.asarray(im)


def load_frames(out, indices):
    """-> float [N, H, W, 3] in [0, 1]"""
    return torch.from_numpy(np.stack([read_png(os.path.join(out, f"frame-{i:06d}.png")) for i in indices])).float() / 255


# ---- the model ----------------------------------------------------------------------------------

def model_info(model):
    path = model if model.endswith(".json") else model + ".json"
    conf = json.load(open(path))
    if conf.get("kind") != "video":
        raise SystemExit(f"{path} is not a video model")
    v, arch, lat = conf["video"], conf["arch"], conf.get("latent")
    factor = int(lat["factor"]) if lat else 1
    patch = int(arch["patch"])
    return {"width": int(v["width"]), "height": int(v["height"]), "fps": float(v["fps"]), "latent": bool(lat),
            "cell": factor if lat else patch, "token": factor * patch}


def prompt_spec(prompt, seed, t0):
    """the procedural scene a prompt names (the inverse of datagen_video.spec_prompt)"""
    spec = {"family": None, "word": None, "color": None, "speed": None, "scale": None, "density": None,
            "filler": None, "seed": seed, "t0": t0}
    for w in prompt.split():
        key = ("color" if w in COLORS else "speed" if w in SPEEDS else "scale" if w in SCALES else
               "density" if w in DENSITY else "filler" if w in FILLER else None)
        if key:
            spec[key] = w
        elif FAMILY_WORDS.get(w, (None,))[0]:
            spec["family"], spec["word"] = FAMILY_WORDS[w][0], w
        else:
            raise ValueError(f"{prompt!r}: {w!r} has no meaning for the video model")
    if not spec["family"]:
        raise ValueError(f"{prompt!r} names no video family")
    return spec


def render_data(prompts, frames, info, rng, offset=0):
    """training data for these prompts (random seed and start time each), 8-bit like the PNGs:
    float [B, frames, H, W, 3]"""
    specs = [prompt_spec(p, rng.getrandbits(62), rng.uniform(0.0, 200.0)) for p in prompts]
    fr = datagen_video.render(specs, frames, info["width"], info["fps"], frame_offset=offset)
    return torch.floor(fr * 255 + 0.5) / 255


# ---- measurements on frames ---------------------------------------------------------------------

def to_judge(fr):
    if fr.shape[1] == JUDGE_SIZE and fr.shape[2] == JUDGE_SIZE:
        return fr
    return F.interpolate(fr.permute(0, 3, 1, 2), size=(JUDGE_SIZE, JUDGE_SIZE), mode="area").permute(0, 2, 3, 1)


def grad_mag(fr):
    lum = fr.mean(3)
    dx = lum[:, :-1, 1:] - lum[:, :-1, :-1]
    dy = lum[:, 1:, :-1] - lum[:, :-1, :-1]
    return (dx * dx + dy * dy).sqrt().mean((1, 2))


def boundary_sums(fr, period):
    """squared RGB differences between neighbouring pixels: [energy across boundaries (pixel index i+1 a
    multiple of period), count, energy elsewhere, count], both directions"""
    n, h, w, _ = fr.shape
    ex = (fr[:, :, 1:] - fr[:, :, :-1]).pow(2).sum(3).sum((0, 1)).double()    # [w-1]
    ey = (fr[:, 1:] - fr[:, :-1]).pow(2).sum(3).sum((0, 2)).double()          # [h-1]
    bx = (torch.arange(1, w) % period) == 0
    by = (torch.arange(1, h) % period) == 0
    return np.array([float(ex[bx].sum() + ey[by].sum()), n * (h * int(bx.sum()) + w * int(by.sum())),
                     float(ex[~bx].sum() + ey[~by].sum()), n * (h * int((~bx).sum()) + w * int((~by).sum()))])


def boundary_ratio(s):
    """mean energy across the boundaries over the mean elsewhere (1 for flat frames; large, not infinite,
    for flat cells with steps between them)"""
    return float((s[0] / s[1] + 1e-12) / (s[2] / s[3] + 1e-12))


class Judges:
    def __init__(self, family, color):
        import evaluate
        self.family, self.color, self.ev = family, color, evaluate

    def __call__(self, fr, color=False):
        with torch.no_grad():
            x = to_judge(fr)
            fam = self.family(self.ev.video_features(x)).argmax(1)
            col = self.color(self.ev.color_features(x)).argmax(1) if color else None
        return fam, col


def measure(batches, judges, periods, color=False):
    """batches: iterable of float [n, H, W, 3] (consecutive frames of one clip) -> per-frame arrays
    (fam, col, mean, std, grad; diff from frame 1 on) and boundary sums per period"""
    out = {k: [] for k in ("fam", "col", "mean", "std", "grad", "diff")}
    sums = {p: np.zeros(4) for p in periods}
    prev = None
    for fr in batches:
        fam, col = judges(fr, color)
        out["fam"].append(fam.numpy())
        if col is not None:
            out["col"].append(col.numpy())
        flat = fr.reshape(fr.shape[0], -1)
        out["mean"].append(flat.mean(1).numpy())
        out["std"].append(flat.std(1).numpy())
        out["grad"].append(grad_mag(fr).numpy())
        seq = fr if prev is None else torch.cat([prev, fr])
        out["diff"].append((seq[1:] - seq[:-1]).abs().mean((1, 2, 3)).numpy())
        prev = fr[-1:]
        for p in periods:
            sums[p] += boundary_sums(fr, p)
    res = {k: np.concatenate(v) if v else None for k, v in out.items()}
    res["bounds"] = sums
    return res


def batches_of_dir(out, indices):
    for i in range(0, len(indices), BATCH):
        yield load_frames(out, indices[i:i + BATCH])


def batches_of_tensor(fr):
    for i in range(0, fr.shape[0], BATCH):
        yield fr[i:i + BATCH]


def first_run(pred, want, run=SWITCH_RUN):
    """index of the first frame of the first `run` consecutive frames labelled `want`, or None"""
    k = 0
    for i, p in enumerate(pred):
        k = k + 1 if p == want else 0
        if k == run:
            return i - run + 1
    return None


# ---- drift-gen ----------------------------------------------------------------------------------

class DriftGen:
    """drift-gen runs, `jobs` at a time, each with cores/jobs OpenMP threads"""

    def __init__(self, binary, model, tmp, jobs):
        self.binary, self.model, self.tmp, self.jobs = binary, model, tmp, jobs
        self.threads = max(1, (os.cpu_count() or 2) // jobs)
        self.frames = 0
        self.seconds = 0.0       # wall time of the runs, summed
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(jobs)

    def run(self, prompt, seed, frames, then=()):
        out = tempfile.mkdtemp(dir=self.tmp)
        cmd = [self.binary, "--model", self.model, "--prompt", prompt, "--seed", str(seed), "--frames", str(frames),
               "--out", out]
        for f, p in then:
            cmd += ["--then", f"{f}:{p}"]
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads))
        t = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode:
            raise RuntimeError(f"drift-gen failed: {' '.join(cmd)}\n{r.stderr.strip()}")
        with self.lock:
            self.frames += frames
            self.seconds += time.time() - t
        return out

    def start(self, fn, jobs):
        """fn(job) for every job (fn calls run and analyses), `self.jobs` at a time, in the background; the
        caller renders the training data meanwhile, then calls collect"""
        return [self.pool.submit(fn, j) for j in jobs]

    @staticmethod
    def collect(futures):
        return [f.result() for f in futures]

    def close(self):
        self.pool.shutdown(cancel_futures=True)

    def rate(self):
        """frames per second of the machine (all parallel runs together)"""
        return self.frames / self.seconds * self.jobs if self.seconds else float("nan")


# ---- the figure ---------------------------------------------------------------------------------

def grid_figure(path, prompts, cols, gen, data):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [("drift-gen", c, gen) for c in cols] + [("data", c, data) for c in cols]
    fig, axes = plt.subplots(len(rows), len(prompts), figsize=(1.2 * len(prompts), 1.25 * len(rows)))
    for r, (who, c, src) in enumerate(rows):
        for k, p in enumerate(prompts):
            ax = axes[r, k]
            ax.imshow(src[p][c])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(p, fontsize=6)
            if k == 0:
                ax.set_ylabel(f"{who}\nframe {c}", fontsize=6)
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def within(x, lohi):
    return x == x and lohi[0] <= x <= lohi[1]


def pct(x):
    return f"{100 * x:.1f} %"


# ---- the evaluation -----------------------------------------------------------------------------

def clip_runs(gen, judges, periods, info, seeds, clip, rng):
    """The evaluation's first section (also video_short_runs.py's): a drift-gen clip of `clip` frames for every
    family word and seed (SEED + s), each measured, and meanwhile the training data for the same prompts, drawn
    from rng in the evaluation's order. -> (jobs [((family, word), s)], their measures in that order,
    {family: generated measures}, {family: data measures})."""
    def clip_job(job):
        (fam, w), s = job
        out = gen.run(w, SEED + s, clip)
        m = measure(batches_of_dir(out, list(range(clip))), judges, periods)
        shutil.rmtree(out)
        return m
    jobs = [((fam, w), s) for fam in VIDEO_FAMILIES for w in SYNONYMS[fam] for s in range(seeds)]
    running = gen.start(clip_job, jobs)
    data = {}
    for fam in VIDEO_FAMILIES:
        prompts = [w for w in SYNONYMS[fam] for _ in range(seeds)]
        data[fam] = [measure(batches_of_tensor(c), judges, periods) for c in render_data(prompts, clip, info, rng)]
    clips = gen.collect(running)
    generated = {}
    for ((fam, _), _), m in zip(jobs, clips):
        generated.setdefault(fam, []).append(m)
    return jobs, clips, generated, data


def frames_mean(measures, key):
    """the mean of one measure (grad, diff, ...) over every frame of a list of measure() results"""
    return float(np.mean(np.concatenate([m[key] for m in measures])))


def family_adherence(generated):
    """{family: share of its frames the judge gives to it} over {family: measures}"""
    return {fam: round(float(np.mean(np.concatenate([m["fam"] == VIDEO_FAMILIES.index(fam)
                                                      for m in generated[fam]]))), 3) for fam in VIDEO_FAMILIES}


def structure_ratios(generated, data):
    """per family: mean gradient and frame difference of the generated frames, the data's, their ratios, and
    whether both ratios are within BAR["ratio"]"""
    out = {}
    for fam in VIDEO_FAMILIES:
        g, d = generated[fam], data[fam]
        gg, dg = frames_mean(g, "grad"), frames_mean(d, "grad")
        gd, dd = frames_mean(g, "diff"), frames_mean(d, "diff")
        out[fam] = {"grad_generated": round(gg, 5), "grad_data": round(dg, 5), "grad_ratio": round(gg / dg, 3),
                    "diff_generated": round(gd, 5), "diff_data": round(dd, 5), "diff_ratio": round(gd / dd, 3),
                    "within": within(gg / dg, BAR["ratio"]) and within(gd / dd, BAR["ratio"])}
    return out


def evaluate(binary, model, judges, seeds, clip, long_frames, jobs, card, log=print):
    """judges: (family judge, colour judge) from evaluate.load_judge. Returns the results dict."""
    info = model_info(model)
    J = Judges(*judges)
    periods = sorted({info["cell"], info["token"]})
    words = [(fam, w) for fam in VIDEO_FAMILIES for w in SYNONYMS[fam]]
    colour_clip = max(2, clip // 4)
    long_prompts = list(VIDEO_FAMILIES) + EXTRA
    switch_at = clip
    switch_after = max(SWITCH_AFTER if clip >= 48 else 2 * clip, BAR["switch_frames"] + SWITCH_RUN)
    planned = (len(words) * seeds * clip + len(COLORS) * len(VIDEO_FAMILIES) * colour_clip
               + len(long_prompts) * long_frames + len(SWITCH_PAIRS) * (switch_at + switch_after))
    res = {"model": os.path.relpath(model), "drift_gen": os.path.relpath(binary),
           "size": [info["width"], info["height"]], "fps": info["fps"], "latent": info["latent"],
           "cell_px": info["cell"], "token_px": info["token"], "seeds": seeds, "clip_frames": clip,
           "color_clip_frames": colour_clip, "long_frames": long_frames, "parallel_runs": jobs}
    log(f"video model {res['model']}: {info['width']}x{info['height']} at {info['fps']:g} fps, "
        f"{'latent cell' if info['latent'] else 'patch'} "
        f"{info['cell']} px, token {info['token']} px; {planned} frames to generate, {jobs} drift-gen runs at a time")
    t0 = time.time()
    rng = random.Random(DATA_SEED)
    tmp = tempfile.mkdtemp(prefix="drift-video-eval-")
    gen = DriftGen(binary, model, tmp, jobs)

    def progress(what):
        log(f"  {what}: {gen.frames} frames generated so far, {gen.rate():.1f} frames/s, "
            f"{time.time() - t0:.0f} s elapsed, about {(planned - gen.frames) / gen.rate():.0f} s of generation left")

    try:
        # 1. adherence and structure: clips of every family word, several seeds
        jobs_a, clips, fam_frames, dfr = clip_runs(gen, J, periods, info, seeds, clip, rng)
        progress("adherence clips")
        per_word = {}
        for ((fam, w), s), m in zip(jobs_a, clips):
            per_word.setdefault(w, []).append(m["fam"] == VIDEO_FAMILIES.index(fam))
        per_fam = family_adherence(fam_frames)
        adh = float(np.mean(list(per_fam.values())))
        data_adh = family_adherence(dfr)
        res["adherence"] = {"overall": round(adh, 4), "per_family": per_fam,
                            "per_word": {w: round(float(np.mean(np.concatenate(v))), 3) for w, v in per_word.items()},
                            "data_per_family": data_adh,
                            "frames": int(sum(len(m["fam"]) for m in clips))}
        log(f"adherence {pct(adh)} ({len(words)} words x {seeds} seeds x {clip} frames): {per_fam}; "
            f"the judge on training data at this size: {pct(float(np.mean(list(data_adh.values()))))}")
        structure = structure_ratios(fam_frames, dfr)
        n_within = sum(v["within"] for v in structure.values())
        res["structure"] = {"per_family": structure, "families_within": n_within}
        log("structure, generated / data: " + "; ".join(
            f"{f} grad {v['grad_ratio']:.2f} diff {v['diff_ratio']:.2f}" for f, v in structure.items())
            + f"; {n_within}/{len(VIDEO_FAMILIES)} families within {BAR['ratio'][0]}x-{BAR['ratio'][1]}x")

        # 2. colour: every colour word on every family
        def colour_job(job):
            ci, col, fam = job
            w = SYNONYMS[fam][ci % len(SYNONYMS[fam])]
            out = gen.run(f"{col} {w}", SEED + 1000 + 10 * ci + VIDEO_FAMILIES.index(fam), colour_clip)
            m = measure(batches_of_dir(out, list(range(colour_clip))), J, periods, color=True)
            shutil.rmtree(out)
            return m
        import evaluate as ev
        jobs_c = [(ci, col, fam) for ci, col in enumerate(COLORS) for fam in VIDEO_FAMILIES]
        running = gen.start(colour_job, jobs_c)
        dcol = render_data([f"{col} {fam}" for col in COLORS for fam in VIDEO_FAMILIES], 2, info, rng)
        dc = np.concatenate([measure([c], J, [], color=True)["col"] == ev.COLOR_CLASS[col]
                             for c, col in zip(dcol, [c for c in COLORS for _ in VIDEO_FAMILIES])])
        cm = gen.collect(running)
        progress("colour clips")
        per_col, per_col_fam = {}, {}
        for (ci, col, fam), m in zip(jobs_c, cm):
            ok = m["col"] == ev.COLOR_CLASS[col]
            per_col.setdefault(col, []).append(ok)
            per_col_fam.setdefault(fam, []).append(ok)
        col_all = float(np.mean(np.concatenate([np.concatenate(v) for v in per_col.values()])))
        res["color"] = {"overall": round(col_all, 4),
                        "per_color": {c: round(float(np.mean(np.concatenate(v))), 3) for c, v in per_col.items()},
                        "per_family": {f: round(float(np.mean(np.concatenate(v))), 3) for f, v in per_col_fam.items()},
                        "data": round(float(dc.mean()), 4)}
        log(f"colour obeyed {pct(col_all)} ({len(jobs_c)} clips x {colour_clip} frames): {res['color']['per_color']}; "
            f"the colour judge on training data at this size: {pct(res['color']['data'])}")

        # 3. long runs (and the grid's generated frames)
        cols = sorted({0, min(100, long_frames - 1), long_frames - 1})

        def long_job(k):
            p = long_prompts[k]
            out = gen.run(p, SEED + 100 + k, long_frames)
            last = list(range(max(0, long_frames - LAST), long_frames))
            m = measure(batches_of_dir(out, last), J, periods)
            pics = {c: load_frames(out, [c])[0].numpy() for c in cols}
            # the trajectory of the frame statistics, 10 points
            pts = sorted({int(x) for x in np.linspace(0, long_frames - 1, 10)})
            traj = measure(batches_of_dir(out, pts), J, [])
            shutil.rmtree(out)
            return m, pics, pts, traj
        running = gen.start(long_job, range(len(long_prompts)))
        # meanwhile: the data's range of frame statistics per prompt (one clip at a time: no differences
        # across clips), the patch-grid reference (many short clips: sharp edges that stay put, such as the
        # ocean's horizon, make the data's figure noisy over few clips), and the grid's data pictures
        data_range = {}
        for p in long_prompts:
            dms = [measure([c], J, []) for c in render_data([p] * 24, 4, info, rng)]
            data_range[p] = {k: np.concatenate([x[k] for x in dms]) for k in ("mean", "std", "grad", "diff")}
        dref = {q: np.zeros(4) for q in periods}
        for fam in VIDEO_FAMILIES:
            for c in render_data([SYNONYMS[fam][i % len(SYNONYMS[fam])] for i in range(GRID_REF_CLIPS)], 2, info, rng):
                for q in periods:
                    dref[q] += boundary_sums(c, q)
        data_pics = {}
        for p in long_prompts:
            spec = prompt_spec(p, rng.getrandbits(62), rng.uniform(0.0, 200.0))
            data_pics[p] = {c: (torch.floor(datagen_video.render([spec], 1, info["width"], info["fps"], frame_offset=c)[0, 0]
                                            * 255 + 0.5) / 255).numpy() for c in cols}
        longs = gen.collect(running)
        progress("long runs")
        long_res, gen_pics, long_bounds = {}, {}, {p: np.zeros(4) for p in periods}
        for k, (p, (m, pics, pts, traj)) in enumerate(zip(long_prompts, longs)):
            fam = prompt_spec(p, 0, 0)["family"]
            dm = data_range[p]
            inside = np.ones(len(m["mean"]), bool)
            rng_stats = {}
            for key in ("mean", "std", "grad"):
                lo, hi = float(dm[key].min()), float(dm[key].max())
                inside &= (m[key] >= lo) & (m[key] <= hi)
                rng_stats[key] = {"data_range": [round(lo, 4), round(hi, 4)],
                                  "last_500": round(float(m[key].mean()), 4),
                                  "trajectory": [round(float(v), 4) for v in traj[key]]}
            long_res[p] = {"frames": long_frames, "judged": len(m["fam"]),
                           "adherence_last_500": round(float((m["fam"] == VIDEO_FAMILIES.index(fam)).mean()), 3),
                           "inside_data_range_last_500": round(float(inside.mean()), 3),
                           "grad_ratio_last_500": round(float(m["grad"].mean() / dm["grad"].mean()), 3),
                           "diff_ratio_last_500": round(float(m["diff"].mean() / dm["diff"].mean()), 3),
                           "trajectory_frames": pts, **rng_stats}
            gen_pics[p] = pics
            for q in periods:
                long_bounds[q] += m["bounds"][q]
            log(f"long run '{p}': {long_frames} frames; over the last {len(m['fam'])}: adherence "
                f"{pct(long_res[p]['adherence_last_500'])}, mean/std/gradient inside the data's range "
                f"{pct(long_res[p]['inside_data_range_last_500'])} (std {rng_stats['std']['trajectory'][0]:.3f} -> "
                f"{rng_stats['std']['trajectory'][-1]:.3f}, data {rng_stats['std']['data_range']})")
        res["long_runs"] = long_res

        # 4. the patch grid: clips, long runs, and the data's reference
        grid = {}
        for q in periods:
            gsum = sum(m["bounds"][q] for m in clips)
            dsum = dref[q]
            grid[str(q)] = {"clips": round(boundary_ratio(gsum), 3), "long_runs_last_500": round(boundary_ratio(long_bounds[q]), 3),
                            "data": round(boundary_ratio(dsum), 3),
                            "clips_per_family": {f: round(boundary_ratio(sum(m["bounds"][q] for m in fam_frames[f])), 3)
                                                 for f in VIDEO_FAMILIES}}
            log(f"gradient energy across {q}-pixel boundaries / elsewhere: clips {grid[str(q)]['clips']:.3f}, long runs "
                f"{grid[str(q)]['long_runs_last_500']:.3f}, training data {grid[str(q)]['data']:.3f}; per family "
                f"{grid[str(q)]['clips_per_family']}")
        res["patch_grid"] = {"periods_px": {"cell": info["cell"], "token": info["token"]}, "ratios": grid,
                             "data_clips": GRID_REF_CLIPS * len(VIDEO_FAMILIES)}

        # 5. prompt changes mid-stream
        def switch_job(k):
            a, b = SWITCH_PAIRS[k]
            out = gen.run(a, SEED + 200 + k, switch_at + switch_after, then=[(switch_at, b)])
            m = measure(batches_of_dir(out, list(range(switch_at + switch_after))), J, [])
            shutil.rmtree(out)
            return m
        sw = gen.collect(gen.start(switch_job, range(len(SWITCH_PAIRS))))
        progress("prompt changes")
        switches = []
        for (a, b), m in zip(SWITCH_PAIRS, sw):
            after = m["fam"][switch_at:]
            lat = first_run(after, VIDEO_FAMILIES.index(b))
            switches.append({"from": a, "to": b, "at_frame": switch_at,
                             "before_adherence": round(float((m["fam"][:switch_at] == VIDEO_FAMILIES.index(a)).mean()), 3),
                             "after_adherence": round(float((after == VIDEO_FAMILIES.index(b)).mean()), 3),
                             "latency_frames": lat, "latency_s": None if lat is None else round(lat / info["fps"], 2)})
            log(f"prompt change {a} -> {b} at frame {switch_at}: the judge reports {b} for {SWITCH_RUN} frames in a row "
                + (f"from {lat} frames after the change ({lat / info['fps']:.2f} s)" if lat is not None else
                   f"never within {switch_after} frames")
                + f"; {a} before the change {pct(switches[-1]['before_adherence'])} of frames")
        res["prompt_change"] = switches

        # 6. the grid
        if card:
            path = os.path.join(card, "video-grid.png")
            grid_figure(path, long_prompts, cols, gen_pics, data_pics)
            res["grid_png"] = os.path.relpath(path)
            log(f"wrote {res['grid_png']} (frames {cols}; generated above, training data below)")
    finally:
        gen.close()
        shutil.rmtree(tmp, ignore_errors=True)
    res["frames_generated"] = gen.frames
    res["frames_per_second"] = round(gen.rate(), 2)
    res["seconds"] = round(time.time() - t0, 1)
    res["checks"] = checks(res)
    return res


def checks(res):
    """[(figure, measured, bar, verdict)]; verdict PASS/FAIL, or INFO where the issue names no bar"""
    rows = []
    a = res["adherence"]
    worst = min(a["per_family"], key=a["per_family"].get)
    rows.append(("prompt adherence, 10 families", pct(a["overall"]), f">= {pct(BAR['adherence'])}",
                 verdict(a["overall"] >= BAR["adherence"])))
    rows.append(("  weakest family", f"{worst} {pct(a['per_family'][worst])}", f">= {pct(BAR['adherence_family'])}",
                 verdict(a["per_family"][worst] >= BAR["adherence_family"])))
    c = res["color"]
    rows.append(("colour words obeyed", pct(c["overall"]), f">= {pct(BAR['color'])}", verdict(c["overall"] >= BAR["color"])))
    s = res["structure"]["per_family"]
    lo, hi = BAR["ratio"]
    g_in = sum(within(v["grad_ratio"], BAR["ratio"]) for v in s.values())
    d_in = sum(within(v["diff_ratio"], BAR["ratio"]) for v in s.values())
    rows.append(("gradient magnitude / data's", f"{g_in}/10 within ({min(v['grad_ratio'] for v in s.values()):.2f}-"
                 f"{max(v['grad_ratio'] for v in s.values()):.2f})", f"{lo}x-{hi}x for >= {BAR['ratio_families']}",
                 verdict(g_in >= BAR["ratio_families"])))
    rows.append(("frame-to-frame difference / data's", f"{d_in}/10 within ({min(v['diff_ratio'] for v in s.values()):.2f}-"
                 f"{max(v['diff_ratio'] for v in s.values()):.2f})", f"{lo}x-{hi}x for >= {BAR['ratio_families']}",
                 verdict(d_in >= BAR["ratio_families"])))
    rows.append(("  both, same family", f"{res['structure']['families_within']}/10", f">= {BAR['ratio_families']}",
                 verdict(res["structure"]["families_within"] >= BAR["ratio_families"])))
    pg = res["patch_grid"]
    cell = "latent cell" if res["latent"] else "patch (pixel-space model)"
    for name, q in ((cell, pg["periods_px"]["cell"]), ("token", pg["periods_px"]["token"])):
        if name == "token" and q == pg["periods_px"]["cell"]:
            continue
        r = pg["ratios"][str(q)]
        worst = max(r["clips_per_family"].items(), key=lambda kv: abs(kv[1] - 1))
        rows.append((f"{name} boundaries ({q} px) / elsewhere", f"clips {r['clips']:.3f}, long {r['long_runs_last_500']:.3f}",
                     f"{BAR['grid'][0]}-{BAR['grid'][1]}",
                     verdict(within(r["clips"], BAR["grid"]) and within(r["long_runs_last_500"], BAR["grid"]))))
        rows.append(("  per family, farthest from 1", f"{worst[0]} {worst[1]:.3f}", "(reported)", "INFO"))
        rows.append(("  training data (reference)", f"{r['data']:.3f}", "(about 1)", "INFO"))
    lr = res["long_runs"]
    fams = [p for p in lr if p in VIDEO_FAMILIES]
    ok = [p for p in fams if lr[p]["adherence_last_500"] >= BAR["long_adherence"]]
    n = res["long_frames"]
    rows.append((f"long runs ({n} frames): adherence, last {min(LAST, n)}",
                 f"{len(ok)}/{len(fams)} families (min {min(lr[p]['adherence_last_500'] for p in fams):.2f})",
                 f">= {pct(BAR['long_adherence'])} each", verdict(len(ok) == len(fams))))
    ins = [lr[p]["inside_data_range_last_500"] for p in lr]
    rows.append(("  frames with mean/std/gradient in data's range", f"{pct(float(np.mean(ins)))} (min {pct(min(ins))})",
                 "(no bar)", "INFO"))
    sw = res["prompt_change"]
    lats = [v["latency_frames"] for v in sw]
    shown = ", ".join("-" if v is None else str(v) for v in lats)
    rows.append(("prompt change: frames to the new family", shown, f"<= {BAR['switch_frames']} each",
                 verdict(all(v is not None and v <= BAR["switch_frames"] for v in lats))))
    if res.get("grid_png"):
        rows.append(("frame grid", res["grid_png"], "", "INFO"))
    return rows


def table(rows, log=print):
    w = [max(len(str(r[i])) for r in rows + [("figure", "measured", "bar", "")]) for i in range(4)]
    line = lambda r: "  ".join(str(x).ljust(w[i]) for i, x in enumerate(r)).rstrip()  # noqa: E731
    log(line(("figure", "measured", "bar", "")))
    log(line(tuple("-" * x for x in w)))
    for r in rows:
        log(line(r))
