"""The audio training set, rendered once: procedural clips -> log-magnitude STFT frames, cached.

  build(path, clips, seconds, seed) renders `clips` clips of `seconds` (the families in turn, random
  pitch, level, filler words and seeds) and writes one file: float16 log magnitudes [clips, frames,
  BINS], the prompts, the per-bin mean and std (the model's normalisation) and the recipe. A cache
  whose recipe differs is rebuilt. Rendering 4,000 clips of 4 s takes ~3 minutes on one core.
"""
import os
import random
import time

import torch

import datagen_audio
import spectral
from vocab import AUDIO_DATA_VERSION, AUDIO_FAMILIES


def build(path, clips, seconds, seed, log=print):
    recipe = {"data_version": AUDIO_DATA_VERSION, "clips": clips, "seconds": seconds, "seed": seed,
              "n_fft": spectral.N_FFT, "hop": spectral.HOP, "floor": spectral.FLOOR}
    if os.path.exists(path):
        d = torch.load(path)
        if d.get("recipe") == recipe:
            return d
        log(f"{path}: recipe changed, rendering again")
    rng = random.Random(seed)
    n = int(seconds * datagen_audio.SR)
    feats, prompts, fams = [], [], []
    t0 = time.time()
    for i in range(clips):
        spec = datagen_audio.random_spec(rng, AUDIO_FAMILIES[i % len(AUDIO_FAMILIES)])
        pcm = datagen_audio.gen_one(spec, n)
        feats.append(spectral.log_magnitudes(pcm).half())
        prompts.append(datagen_audio.spec_prompt(spec))
        fams.append(spec["family"])
        if (i + 1) % 500 == 0:
            log(f"rendered {i + 1}/{clips} clips in {time.time() - t0:.0f}s")
    lm = torch.stack(feats)
    f32 = lm.float()
    d = {"recipe": recipe, "logmag": lm, "prompts": prompts, "families": fams,
         "mean": f32.mean((0, 1)), "std": f32.std((0, 1)).clamp(min=0.05)}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(d, path + ".tmp")
    os.replace(path + ".tmp", path)
    return d


class Crops:
    """random crops of `chunks` chunks (tokens [chunks, CHUNK/HOP, BINS], model space) from the cache."""

    def __init__(self, data, chunks, tokens_per_chunk, seed):
        self.lm, self.prompts = data["logmag"], data["prompts"]
        self.mean, self.std = data["mean"], data["std"]
        self.frames = chunks * tokens_per_chunk
        self.chunks, self.tpc = chunks, tokens_per_chunk
        self.g = torch.Generator().manual_seed(seed)

    def batch(self, B):
        idx = torch.randint(0, self.lm.shape[0], (B,), generator=self.g)
        start = torch.randint(0, self.lm.shape[1] - self.frames + 1, (B,), generator=self.g)
        self.last_index = idx   # the clips of the last batch (diagnostics: carry_check.py)
        x = torch.stack([self.lm[i, s:s + self.frames] for i, s in zip(idx.tolist(), start.tolist())]).float()
        x = spectral.to_model(x, self.mean, self.std)
        return x.reshape(B, self.chunks, self.tpc, -1), [self.prompts[i] for i in idx.tolist()]
