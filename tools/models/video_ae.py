"""The video model's latent space: a small convolutional autoencoder, trained first, on this machine.

A 256x256 frame is 196,608 values; the transformer works on its latent instead: FACTOR = 8 times smaller
in each direction, CHANNELS = 8 values per cell (32x32x8 = 8,192 values, 24x fewer), cut into 4x4-cell
patches (64 tokens). The diffusion runs in that space; only the decoder runs in the engine, once per
frame, after the last sampler step. The encoder is used offline, to encode the training set once.

Decoder (engine/src/video_decoder.c runs it; DECODER_LAYERS below is the config's "decoder.layers"):
  conv3x3 8->64, SiLU; conv3x3 64->64, SiLU; conv3x3 64->64, SiLU          at 32x32
  bilinear x2;  conv3x3 64->32, SiLU; conv3x3 32->32, SiLU                   at 64x64
  bilinear x2;  conv3x3 32->16, SiLU; conv3x3 16->12                         at 128x128
  pixel shuffle x2 (12 channels -> 3 at 256x256; channel c*4 + dy*2 + dx)    -> model space [-1, 1]
~0.3 G multiply-adds per frame: no convolution runs at the full 256x256 (the last one emits 2x2 pixels
per cell), and the widest maps are at 32x32 where they are cheap. "Bilinear" is PyTorch's
align_corners=False (half-pixel centres), which the engine's resize matches.

  /usr/bin/python3 tools/models/video_ae.py --out out/video --seconds 720     # trains, writes OUT/ae.pt

The autoencoder is trained on random 128x128 crops of 256x256 frames (the network is convolutional, so
crops teach it the same thing at a quarter of the cost), with an L1 loss on pixels and on their
horizontal/vertical differences (keeps edges sharp: stars, drops, crests), and Gaussian noise added to
the latent (the decoder must turn the diffusion model's imperfect latents into clean frames).
"""
import argparse
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen_video  # noqa: E402
from vocab import VIDEO_FAMILIES  # noqa: E402

FACTOR = 8
CHANNELS = 8
SHUFFLE = 2
# "conv" = 3x3 convolution, padding 1 (SiLU after every one but the last); "up" = bilinear x2.
DECODER_LAYERS = ["conv", "conv", "conv", "up", "conv", "conv", "up", "conv", "conv"]
DECODER_WIDTHS = [64, 64, 64, 32, 32, 16, 3 * SHUFFLE * SHUFFLE]   # output channels of each conv, in order
LATENT_NOISE = 0.1      # std of the noise added to the latent in training, relative to the latent's std
AE_RECIPE = {"version": 1, "factor": FACTOR, "channels": CHANNELS, "layers": DECODER_LAYERS,
             "widths": DECODER_WIDTHS}


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        c = 3 * SHUFFLE * SHUFFLE
        self.net = nn.Sequential(
            nn.Conv2d(c, 32, 3, 1, 1), nn.SiLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.SiLU(),
            nn.Conv2d(64, 64, 3, 2, 1), nn.SiLU(),
            nn.Conv2d(64, 64, 3, 1, 1), nn.SiLU(),
            nn.Conv2d(64, CHANNELS, 3, 1, 1))

    def forward(self, x):
        """x [N, 3, H, W] model space -> z [N, CHANNELS, H/8, W/8]"""
        return self.net(F.pixel_unshuffle(x, SHUFFLE))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        convs, c = [], CHANNELS
        for w in DECODER_WIDTHS:
            convs.append(nn.Conv2d(c, w, 3, 1, 1))
            c = w
        self.convs = nn.ModuleList(convs)

    def forward(self, z):
        """z [N, CHANNELS, h, w] -> x [N, 3, 8h, 8w] model space (unclamped)"""
        h, i = z, 0
        for layer in DECODER_LAYERS:
            if layer == "up":
                h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
                continue
            h = self.convs[i](h)
            i += 1
            if i < len(self.convs):
                h = F.silu(h)
        return F.pixel_shuffle(h, SHUFFLE)


def decoder_macs(h, w):
    """multiply-adds of one decode of an h x w latent"""
    macs, c, i, s = 0, CHANNELS, 0, 1
    for layer in DECODER_LAYERS:
        if layer == "up":
            s *= 2
            continue
        macs += 9 * c * DECODER_WIDTHS[i] * (h * s) * (w * s)
        c = DECODER_WIDTHS[i]
        i += 1
    return macs


def folded_decoder_state(dec, mean, std):
    """the decoder's tensors for the engine, with the latent's normalisation folded into the first
    convolution: the transformer's output x (normalised) decodes as conv(x * std + mean)."""
    sd = {}
    for i, conv in enumerate(dec.convs):
        w, b = conv.weight.detach().float().clone(), conv.bias.detach().float().clone()
        if i == 0:
            b = b + (w * mean.float()[None, :, None, None]).sum((1, 2, 3))
            w = w * std.float()[None, :, None, None]
        sd[f"decoder.{i}.weight"], sd[f"decoder.{i}.bias"] = w, b
    return sd


def frames_to_model(fr):
    """[..., H, W, 3] in [0, 1] -> [N, 3, H, W] in [-1, 1]"""
    H, W = fr.shape[-3], fr.shape[-2]
    return (fr.reshape(-1, H, W, 3).permute(0, 3, 1, 2) * 2 - 1).contiguous()


def grad_l1(y, x):
    return ((y[..., :, 1:] - y[..., :, :-1]) - (x[..., :, 1:] - x[..., :, :-1])).abs().mean() + \
           ((y[..., 1:, :] - y[..., :-1, :]) - (x[..., 1:, :] - x[..., :-1, :])).abs().mean()


def render_pool(clips, frames, seed, size=256):
    """uint8 [clips*frames, H, W, 3], the families in turn, frames spread over each clip's motion"""
    rng = random.Random(seed)
    out = []
    for i in range(0, clips, 8):
        specs = [datagen_video.random_spec(rng, VIDEO_FAMILIES[j % len(VIDEO_FAMILIES)]) for j in range(i, min(clips, i + 8))]
        fr = datagen_video.render(specs, frames, size)
        out.append((fr * 255 + 0.5).clamp(0, 255).to(torch.uint8).reshape(-1, size, size, 3))
    return torch.cat(out)


def train(out, seconds, seed=1, batch=32, crop=128, lr=2e-3, log=print):
    """trains the autoencoder for `seconds` (resumable from OUT/ae-resume.pt); writes OUT/ae.pt."""
    path, resume = os.path.join(out, "ae.pt"), os.path.join(out, "ae-resume.pt")
    if os.path.exists(path):
        ck = torch.load(path)
        if ck.get("recipe") == AE_RECIPE:
            return ck
    torch.manual_seed(seed)
    t_data = time.time()
    pool = render_pool(480, 8, seed + 200)
    log(f"autoencoder: {pool.shape[0]} frames rendered in {time.time() - t_data:.0f}s")
    enc, dec = Encoder(), Decoder()
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed + 300)
    step, done_before = 0, 0.0
    if os.path.exists(resume):
        r = torch.load(resume)
        enc.load_state_dict(r["enc"])
        dec.load_state_dict(r["dec"])
        opt.load_state_dict(r["opt"])
        g.set_state(r["g"])
        step, done_before = r["step"], r["seconds"]
        log(f"autoencoder: resumed at step {step}, {done_before:.0f}s")
    t_start, last_save, run = time.time() - done_before, time.time(), 0.0

    def save_resume():
        torch.save({"enc": enc.state_dict(), "dec": dec.state_dict(), "opt": opt.state_dict(), "g": g.get_state(),
                    "step": step, "seconds": time.time() - t_start}, resume + ".tmp")
        os.replace(resume + ".tmp", resume)
    while True:
        prog = (time.time() - t_start) / seconds
        if prog >= 1:
            break
        for gr in opt.param_groups:
            gr["lr"] = lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * prog)))
        idx = torch.randint(0, pool.shape[0], (batch,), generator=g)
        oy = torch.randint(0, 256 - crop + 1, (batch,), generator=g) // FACTOR * FACTOR
        ox = torch.randint(0, 256 - crop + 1, (batch,), generator=g) // FACTOR * FACTOR
        fr = torch.stack([pool[i, y:y + crop, x:x + crop] for i, y, x in zip(idx.tolist(), oy.tolist(), ox.tolist())])
        x = frames_to_model(fr.float() / 255)
        z = enc(x)
        zn = z + LATENT_NOISE * z.detach().std((0, 2, 3), keepdim=True) * torch.randn(z.shape, generator=g)
        y = dec(zn)
        loss = (y - x).abs().mean() + grad_l1(y, x) + 1e-4 * z.square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        run += loss.item()
        if step % 100 == 0:
            log(f"autoencoder step {step} {time.time() - t_start:.0f}s loss {run / 100:.4f}")
            run = 0.0
        if time.time() - last_save > 120:
            save_resume()
            last_save = time.time()
    save_resume()
    with torch.no_grad():   # held-out check: PSNR on whole frames of fresh clips
        test = frames_to_model(render_pool(20, 2, seed + 999).float() / 255)
        rec = dec(enc(test)).clamp(-1, 1)
        mse = ((rec - test) / 2).square().mean((1, 2, 3))
        psnr = (10 * torch.log10(1 / mse)).mean().item()
    ck = {"recipe": AE_RECIPE, "enc": enc.state_dict(), "dec": dec.state_dict(), "steps": step,
          "seconds": time.time() - t_start, "psnr": psnr}
    log(f"autoencoder: {step} steps in {ck['seconds']:.0f}s, held-out PSNR {psnr:.2f} dB")
    torch.save(ck, path + ".tmp")
    os.replace(path + ".tmp", path)
    return ck


def load(ck):
    enc, dec = Encoder(), Decoder()
    enc.load_state_dict(ck["enc"])
    dec.load_state_dict(ck["dec"])
    return enc.eval(), dec.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=720)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    train(a.out, a.seconds, a.seed, log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    main()
