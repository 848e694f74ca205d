"""The video training set, rendered and encoded once: procedural clips at 256x256 -> the autoencoder's
latents (tools/models/video_ae.py), cached.

  build(path, ae, clips, frames, seed) renders `clips` clips of `frames` frames (the families in turn,
  random modifiers, filler words and seeds), encodes every frame and writes one file: float16 latents
  [clips, frames, h, w, CHANNELS] (HWC: the transformer's token order), the prompts, the per-channel
  mean and std (the model's normalisation) and the recipe. A cache whose recipe differs is rebuilt.
  Rendering and encoding 2,400 clips of 16 frames takes ~8 minutes on 2 cores.
"""
import os
import random
import time

import torch

import datagen_video
import model as M
import video_ae
from vocab import DATA_VERSION, VIDEO_FAMILIES


def build(path, ae_ck, clips, frames, seed, size=256, fps=24.0, log=print):
    recipe = {"data_version": DATA_VERSION, "clips": clips, "frames": frames, "seed": seed, "size": size,
              "fps": fps, "ae": ae_ck["recipe"], "ae_steps": ae_ck["steps"]}
    if os.path.exists(path):
        d = torch.load(path)
        if d.get("recipe") == recipe:
            return d
        log(f"{path}: recipe changed, rendering again")
    enc, _ = video_ae.load(ae_ck)
    video_ae.channels_last(enc)
    rng = random.Random(seed)
    lat, prompts, fams = [], [], []
    t0 = time.time()
    for i in range(0, clips, 8):
        specs = [datagen_video.random_spec(rng, VIDEO_FAMILIES[j % len(VIDEO_FAMILIES)])
                 for j in range(i, min(clips, i + 8))]
        fr = datagen_video.render(specs, frames, size, fps)
        with torch.no_grad():
            z = enc(video_ae.frames_to_model(fr))                         # [n*frames, C, h, w]
        lat.append(z.permute(0, 2, 3, 1).reshape(len(specs), frames, *z.shape[2:], z.shape[1]).half())
        prompts += [datagen_video.spec_prompt(s) for s in specs]
        fams += [s["family"] for s in specs]
        if (i + 8) % 400 == 0:
            log(f"encoded {i + 8}/{clips} clips in {time.time() - t0:.0f}s")
    z = torch.cat(lat)
    f32 = z.float()
    d = {"recipe": recipe, "latents": z, "prompts": prompts, "families": fams,
         "mean": f32.mean((0, 1, 2, 3)), "std": f32.std((0, 1, 2, 3)).clamp(min=1e-3)}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(d, path + ".tmp")
    os.replace(path + ".tmp", path)
    log(f"latent dataset: {tuple(z.shape)} in {time.time() - t0:.0f}s")
    return d


class Crops:
    """random runs of `frames` consecutive frames from the cache, as tokens [B, frames, T, P] (normalised)."""

    def __init__(self, data, frames, patch, seed):
        self.z, self.prompts = data["latents"], data["prompts"]
        self.mean, self.std = data["mean"], data["std"]
        self.frames, self.patch = frames, patch
        self.g = torch.Generator().manual_seed(seed)

    def batch(self, B):
        idx = torch.randint(0, self.z.shape[0], (B,), generator=self.g)
        start = torch.randint(0, self.z.shape[1] - self.frames + 1, (B,), generator=self.g)
        self.last_index = idx   # the clips of the last batch (diagnostics: carry_check.py)
        x = torch.stack([self.z[i, s:s + self.frames] for i, s in zip(idx.tolist(), start.tolist())]).float()
        x = (x - self.mean) / self.std
        return M.patchify(x, self.patch), [self.prompts[i] for i in idx.tolist()]
