"""The quick form of the issue's video evaluation, for comparing trial weights: the first part of
`evaluate.py video` alone (every family word, 2 seeds x 48 frames from drift-gen, judged and measured as
video_eval.evaluate does, against the same fresh data), and with --late the motion once a stream's picture
has formed (frames 32-95 of 96-frame runs of five families, against data frames 32-95). About 3 minutes on
2 cores, against 25 for the whole evaluation; its clip figures are the whole evaluation's first section.

  /usr/bin/python3 tools/models/video_short_runs.py --model models/drift-video.json --label shipped --late

Prints one line: adherence, how many families have their gradient and frame difference within 0.6-1.6x of
the data's, the latent-cell and token boundary ratios, then per family adherence and gradient/difference
ratios, as `results.json` rounds them (the evaluation's own functions compute them: video_eval.clip_runs,
family_adherence, structure_ratios). Needs the judges (`evaluate.py classifiers`).
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

    def generated(prompt, seed, frames, first):
        out = gen.run(prompt, seed, frames)
        m = V.measure(V.batches_of_dir(out, list(range(first, frames))), judges, periods)
        shutil.rmtree(out)
        return m

    try:
        rng = random.Random(V.DATA_SEED)   # the whole evaluation's data, in its order
        _, clips, per, ref = V.clip_runs(gen, judges, periods, info, SEEDS, CLIP, rng)
        adh, structure = V.family_adherence(per), V.structure_ratios(per, ref)
        parts = [f"{f} {adh[f] * 100:.1f}% {v['grad_ratio']:.2f}/{v['diff_ratio']:.2f}" for f, v in structure.items()]
        n_grad = sum(V.within(v["grad_ratio"], V.BAR["ratio"]) for v in structure.values())
        n_diff = sum(V.within(v["diff_ratio"], V.BAR["ratio"]) for v in structure.values())
        n_both = sum(v["within"] for v in structure.values())
        bounds = [V.boundary_ratio(sum(m["bounds"][p] for m in clips)) for p in periods]
        line = (f"{a.label}: adherence {np.mean(list(adh.values())) * 100:.2f}% grad {n_grad} diff {n_diff} "
                f"both {n_both} | cells {bounds[0]:.2f} tokens {bounds[-1]:.2f} | " + "; ".join(parts))
        if a.late:
            late_jobs = [(f, s) for f in LATE_FAMILIES for s in range(SEEDS)]
            late = gen.collect(gen.start(lambda j: generated(j[0], V.SEED + 100 + j[1], LATE_FRAMES, LATE_FIRST),
                                         late_jobs))
            moved = []
            for f in LATE_FAMILIES:
                d = [V.measure(V.batches_of_tensor(c), judges, periods)
                     for c in V.render_data([f] * SEEDS, LATE_FRAMES - LATE_FIRST, info, rng, offset=LATE_FIRST)]
                g = [m for (ff, _), m in zip(late_jobs, late) if ff == f]
                moved.append(f"{f} {V.frames_mean(g, 'diff') / V.frames_mean(d, 'diff'):.2f}")
            line += f" || frames {LATE_FIRST}-{LATE_FRAMES - 1}, difference / data's: " + ", ".join(moved)
        print(line, flush=True)
    finally:
        gen.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
