"""Model-card pictures:   /usr/bin/python3 tools/models/figures.py [loss|grid|spectrograms|data] ...

  loss LOGDIR...        models/card/loss.png from the training runs' loss.csv
  grid                  models/card/video-grid.png: generated frames, every family + two modifiers
  spectrograms          models/card/audio-spectrograms.png: generated audio, every family
  data                  models/card/data-grid.png and data-spectrograms.png: the procedural training data
"""
import csv
import os
import random
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen_audio  # noqa: E402
import datagen_video  # noqa: E402
from vocab import AUDIO_FAMILIES, VIDEO_FAMILIES  # noqa: E402

EXTRA = ["slow violet flames", "large red aurora"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CARD = os.path.join(ROOT, "models", "card")


def loss(dirs):
    fig, ax = plt.subplots(1, len(dirs), figsize=(5 * len(dirs), 3.2))
    for a, d in zip(np.atleast_1d(ax), dirs):
        rows = list(csv.DictReader(open(os.path.join(d, "loss.csv"))))
        s = [float(r["seconds"]) for r in rows]
        l = [float(r["loss"]) for r in rows]
        a.plot(s, l)
        a.set_yscale("log")
        a.set_xlabel("seconds of training")
        a.set_ylabel("flow-matching MSE")
        a.set_title(f"{os.path.basename(os.path.normpath(d))}: {rows[-1]['step']} steps", fontsize=9)
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(CARD, "loss.png"), dpi=80)


def grid(prompts, frames_every=(0, 3, 7)):
    """uses the frames that `evaluate.py adherence video --extra ...` generated and saved"""
    d = torch.load(os.path.join(ROOT, "out", "eval", "adherence-video-all.pt"))
    fr = d["frames"]
    idx = [d["prompts"].index(p) for p in prompts]
    keep = [fr[idx, f].numpy() for f in frames_every]
    fig, ax = plt.subplots(len(frames_every), len(prompts), figsize=(1.6 * len(prompts), 1.75 * len(frames_every)))
    for c, p in enumerate(prompts):
        for r, f in enumerate(frames_every):
            ax[r, c].imshow(keep[r][c])
            ax[r, c].set_xticks([])
            ax[r, c].set_yticks([])
            if r == 0:
                ax[r, c].set_title(p, fontsize=7)
            if c == 0:
                ax[r, c].set_ylabel(f"frame {f}", fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(CARD, "video-grid.png"), dpi=72)


def spectrograms(chunks=24):
    import reference as R
    net, conf = R.load(os.path.join(ROOT, "models", "drift-audio.json"))
    st = R.Stream(net, conf, list(AUDIO_FAMILIES), [200 + i for i in range(len(AUDIO_FAMILIES))])
    outs = [st.next() for _ in range(chunks)]   # [streams, chunk values] each
    pcm = np.stack([R.audio_pcm(conf, [o[i].numpy() for o in outs]) for i in range(len(AUDIO_FAMILIES))])
    _spec(pcm, AUDIO_FAMILIES, "audio-spectrograms.png", "generated")
    os.makedirs(os.path.join(ROOT, "out", "card"), exist_ok=True)
    import reference
    for i, f in enumerate(AUDIO_FAMILIES):
        reference.write_wav(os.path.join(ROOT, "out", "card", f"{f}.wav"), pcm[i], 24000)


def _spec(pcm, names, fn, what):
    fig, ax = plt.subplots(1, len(names), figsize=(2.3 * len(names), 2.6))
    for i, n in enumerate(names):
        ax[i].specgram(pcm[i], NFFT=512, Fs=24000, noverlap=384, cmap="magma")
        ax[i].set_title(f"{n} ({what})", fontsize=8)
        ax[i].set_xlabel("s", fontsize=7)
        ax[i].tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(CARD, fn), dpi=72)


def data():
    rng = random.Random(5)
    specs = [dict(datagen_video.random_spec(rng, f), color=None, speed=None, scale=None, density=None, filler=None)
             for f in VIDEO_FAMILIES]
    specs += [dict(specs[0], color="violet", speed="slow"), dict(specs[5], color="red", scale="large")]
    fr = datagen_video.render(specs, 1, 128)[:, 0].numpy()
    fig, ax = plt.subplots(1, len(specs), figsize=(1.6 * len(specs), 1.9))
    for i, s in enumerate(specs):
        ax[i].imshow(fr[i])
        ax[i].axis("off")
        ax[i].set_title(datagen_video.spec_prompt(s), fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(CARD, "data-grid.png"), dpi=72)
    aspecs = [dict(datagen_audio.random_spec(rng, f), pitch=None, level=None, filler=None) for f in AUDIO_FAMILIES]
    _spec(datagen_audio.render(aspecs, 24 * 2048).numpy(), AUDIO_FAMILIES, "data-spectrograms.png", "data")


def main():
    os.makedirs(CARD, exist_ok=True)
    torch.set_num_threads(2)
    what = sys.argv[1]
    if what == "loss":
        loss(sys.argv[2:])
    elif what == "grid":
        grid(list(VIDEO_FAMILIES) + EXTRA)
    elif what == "spectrograms":
        spectrograms()
    elif what == "data":
        data()


if __name__ == "__main__":
    main()
