"""The quick form of the issue's video evaluation, for comparing trial weights: the first part of
`evaluate.py video` alone (every family word, 2 seeds x 48 frames from drift-gen, judged and measured as
video_eval.evaluate does, against the same fresh data), and with --late the motion once a stream's picture
has formed (frames 32-95 of 96-frame runs of five families, against data frames 32-95). About 3 minutes on
2 cores, against 25 for the whole evaluation; its clip figures are the whole evaluation's first section.

  /usr/bin/python3 tools/models/video_short_runs.py --model models/drift-video.json --label shipped --late

Prints one line: adherence, how many families have their gradient and frame difference within 0.6-1.6x of
the data's, the latent-cell and token boundary ratios, then per family adherence and gradient/difference
ratios. Needs the judges (`evaluate.py classifiers`).
"""
import argparse
import os
import random
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402
import video_eval as V  # noqa: E402
from vocab import VIDEO_FAMILIES  # noqa: E402

SEEDS, CLIP = 2, 48
LATE_FAMILIES = ["aurora", "clouds", "water", "flames", "stars"]
LATE_FIRST, LATE_FRAMES = 32, 96


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drift-gen", default=os.path.join(evaluate.ROOT, "build", "gen", "drift-gen"))
    ap.add_argument("--model", default=os.path.join(evaluate.ROOT, "models", "drift-video.json"))
    ap.add_argument("--label", default="model")
    ap.add_argument("--late", action="store_true", help="also the motion over frames 32-95 of 96-frame runs")
    a = ap.parse_args()
    torch.set_num_threads(1)
    info = V.model_info(a.model)
    judges = V.Judges(evaluate.load_judge("video")[0], evaluate.load_judge("color")[0])
    periods = sorted({info["cell"], info["token"]})
    tmp = tempfile.mkdtemp(prefix="drift-short-runs-")
    gen = V.DriftGen(a.drift_gen, a.model, tmp, 2)

    def generated(prompt, seed, frames, first=0):
        out = gen.run(prompt, seed, frames)
        m = V.measure(V.batches_of_dir(out, list(range(first, frames))), judges, periods)
        shutil.rmtree(out)
        return m

    def data(prompts, frames, rng, offset=0):
        return [V.measure(V.batches_of_tensor(c), judges, periods)
                for c in V.render_data(prompts, frames, info, rng, offset=offset)]

    def mean(ms, key):
        return float(np.concatenate([m[key] for m in ms]).mean())

    try:
        jobs = [((f, w), s) for f in VIDEO_FAMILIES for w in V.SYNONYMS[f] for s in range(SEEDS)]
        running = gen.start(lambda j: generated(j[0][1], V.SEED + j[1], CLIP), jobs)
        rng = random.Random(V.DATA_SEED)   # the whole evaluation's data, in its order
        ref = {f: data([w for w in V.SYNONYMS[f] for _ in range(SEEDS)], CLIP, rng) for f in VIDEO_FAMILIES}
        clips = gen.collect(running)
        per = {}
        for ((f, _), _), m in zip(jobs, clips):
            per.setdefault(f, []).append(m)
        n_grad = n_diff = n_both = 0
        parts, adh = [], []
        for f in VIDEO_FAMILIES:
            adh.append(float(np.mean(np.concatenate([m["fam"] for m in per[f]]) == VIDEO_FAMILIES.index(f))))
            g, d = mean(per[f], "grad") / mean(ref[f], "grad"), mean(per[f], "diff") / mean(ref[f], "diff")
            ok_g, ok_d = V.within(g, V.BAR["ratio"]), V.within(d, V.BAR["ratio"])
            n_grad, n_diff, n_both = n_grad + ok_g, n_diff + ok_d, n_both + (ok_g and ok_d)
            parts.append(f"{f} {adh[-1] * 100:.0f}% {g:.2f}/{d:.2f}")
        bounds = [V.boundary_ratio(sum(m["bounds"][p] for m in clips)) for p in periods]
        line = (f"{a.label}: adherence {np.mean(adh) * 100:.1f}% grad {n_grad} diff {n_diff} both {n_both} | cells "
                f"{bounds[0]:.2f} tokens {bounds[-1]:.2f} | " + "; ".join(parts))
        if a.late:
            late_jobs = [(f, s) for f in LATE_FAMILIES for s in range(SEEDS)]
            late = gen.collect(gen.start(lambda j: generated(j[0], V.SEED + 100 + j[1], LATE_FRAMES, LATE_FIRST),
                                         late_jobs))
            moved = []
            for f in LATE_FAMILIES:
                d = data([f] * SEEDS, LATE_FRAMES - LATE_FIRST, rng, offset=LATE_FIRST)
                g = [m for (ff, _), m in zip(late_jobs, late) if ff == f]
                moved.append(f"{f} {mean(g, 'diff') / mean(d, 'diff'):.2f}")
            line += f" || frames {LATE_FIRST}-{LATE_FRAMES - 1}, difference / data's: " + ", ".join(moved)
        print(line, flush=True)
    finally:
        gen.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
