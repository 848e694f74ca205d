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

  /usr/bin/python3 tools/models/video_ae.py train --out out/video --seconds 720     # trains, writes OUT/ae.pt
  /usr/bin/python3 tools/models/video_ae.py refine --ae OUT/ae.pt --ckpt OUT/rollout/ckpt.pt \
      --out OUT/decoder.pt --seconds 300                 # the decoder refinement stage (train-video.sh)
  /usr/bin/python3 tools/models/video_ae.py refine --model models/drift-video --out DIR/decoder.pt
      # the same for an exported model whose run (ae.pt) is gone: an encoder is first fitted to its decoder
  /usr/bin/python3 tools/models/video_ae.py apply --model models/drift-video --decoder DIR/decoder.pt
  /usr/bin/python3 tools/models/video_ae.py jitter --ae OUT/ae.pt
      # how much a still scene moves when each frame's latent wanders a little (latent_jitter)

The autoencoder is trained on random 128x128 crops of 256x256 frames (the network is convolutional, so
crops teach it the same thing at a quarter of the cost), with an L1 loss on pixels and on their
horizontal/vertical differences (keeps edges sharp: stars, drops, crests), and Gaussian noise added to
the latent (the decoder must turn the diffusion model's imperfect latents into clean frames).

The decoder refinement (`refine`, the last stage of train-video.sh) trains the decoder alone once more, the
encoder and so the transformer's latent space fixed, on the normalised latents the transformer works in,
with two more terms in the loss:
- the pixel differences across latent-cell boundaries (every FACTOR pixels) against the data's: the
  first training leaves the cells' seams 1.1-1.5x sharper than the rest of the picture (a grid on what the
  C engine produces; the ocean's horizon worst), the boundaries get no weight of their own otherwise;
- the local gradient energy (|gradient| of luminance averaged over 4x4 pixels) against the data's: detail
  of the right amount where its exact place is not in the latent (wave crests, the speckle near the
  ocean's horizon), which the L1 terms alone average away.
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
from checkpoint_io import load_ckpt  # noqa: E402
from vocab import VIDEO_FAMILIES  # noqa: E402

FACTOR = 8
CHANNELS = 8
SHUFFLE = 2


def decoder_layers(factor):
    """"conv" = 3x3 convolution, padding 1 (SiLU after every one but the last); "up" = bilinear x2: three
    convolutions at the latent's size, two more after each x2; the pixel shuffle makes the last x2"""
    return ["conv"] * 3 + ["up", "conv", "conv"] * int(math.log2(factor // SHUFFLE))


DECODER_LAYERS = decoder_layers(FACTOR)
DECODER_WIDTHS = [64, 64, 64, 32, 32, 16, 3 * SHUFFLE * SHUFFLE]   # output channels of each conv, in order
LATENT_NOISE = 0.1      # std of the noise added to the latent in training, relative to the latent's std
AE_RECIPE = {"version": 1, "factor": FACTOR, "channels": CHANNELS, "layers": DECODER_LAYERS,
             "widths": DECODER_WIDTHS}


class Encoder(nn.Module):
    """the recipe's encoder; other factors, channels and widths for the design study (video_ae_study.py)"""
    def __init__(self, factor=FACTOR, channels=CHANNELS, width=64):
        super().__init__()
        layers, c = [nn.Conv2d(3 * SHUFFLE * SHUFFLE, 32, 3, 1, 1), nn.SiLU()], 32
        for _ in range(int(math.log2(factor // SHUFFLE))):      # one stride-2 convolution per x2
            layers += [nn.Conv2d(c, width, 3, 2, 1), nn.SiLU()]
            c = width
        layers += [nn.Conv2d(c, width, 3, 1, 1), nn.SiLU(), nn.Conv2d(width, channels, 3, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        """x [N, 3, H, W] model space -> z [N, channels, H/factor, W/factor]"""
        return self.net(F.pixel_unshuffle(x, SHUFFLE))


class Decoder(nn.Module):
    """the recipe's decoder (widths: each convolution's output channels, the last 3 * SHUFFLE^2)"""
    def __init__(self, factor=FACTOR, channels=CHANNELS, widths=DECODER_WIDTHS):
        super().__init__()
        self.layers = decoder_layers(factor)
        if self.layers.count("conv") != len(widths) or widths[-1] != 3 * SHUFFLE * SHUFFLE:
            raise ValueError(f"decoder widths {widths}: {self.layers.count('conv')} convolutions, the last "
                             f"making {3 * SHUFFLE * SHUFFLE} channels")
        convs, c = [], channels
        for w in widths:
            convs.append(nn.Conv2d(c, w, 3, 1, 1))
            c = w
        self.convs = nn.ModuleList(convs)

    def forward(self, z):
        """z [N, channels, h, w] -> x [N, 3, factor*h, factor*w] model space (unclamped)"""
        h, i = z, 0
        for layer in self.layers:
            if layer == "up":
                h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
                continue
            h = self.convs[i](h)
            i += 1
            if i < len(self.convs):
                h = F.silu(h)
        return F.pixel_shuffle(h, SHUFFLE)


def decoder_macs(h, w, factor=FACTOR, channels=CHANNELS, widths=DECODER_WIDTHS):
    """multiply-adds of one decode of an h x w latent"""
    macs, c, i, s = 0, channels, 0, 1
    for layer in decoder_layers(factor):
        if layer == "up":
            s *= 2
            continue
        macs += 9 * c * widths[i] * (h * s) * (w * s)
        c = widths[i]
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


def channels_last(*modules):
    """the modules' convolution weights in channels-last (NHWC) order, as frames_to_model lays out frames:
    oneDNN's CPU convolutions then run without the reorders that NCHW costs them (an autoencoder training
    step 0.157 -> 0.117 s on 2 cores, encoding the training set ~40 % faster); the same values to rounding.
    Their state dicts are saved in the usual layout (plain_state)."""
    for m in modules:
        m.to(memory_format=torch.channels_last)


def plain_state(m):
    return {k: v.contiguous() for k, v in m.state_dict().items()}


def frames_to_model(fr):
    """[..., H, W, 3] in [0, 1] -> [N, 3, H, W] in [-1, 1], stored channels-last (the frames' own order)"""
    H, W = fr.shape[-3], fr.shape[-2]
    return (fr.reshape(-1, H, W, 3).permute(0, 3, 1, 2) * 2 - 1).contiguous(memory_format=torch.channels_last)


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


def ae_lr(lr, step, progress):
    """the autoencoder's learning rate: 100 steps of warm-up, then a cosine to 5 % at progress 1"""
    return lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def ae_loss(enc, dec, x, g, texture=0.0):
    """the autoencoder's loss on frames x: L1 on pixels and on their differences, the latent noised first
    (LATENT_NOISE of its std, drawn from g) and kept small; texture > 0 adds texture_l1 at that weight"""
    z = enc(x)
    y = dec(z + LATENT_NOISE * z.detach().std((0, 2, 3), keepdim=True) * torch.randn(z.shape, generator=g))
    loss = (y - x).abs().mean() + grad_l1(y, x) + 1e-4 * z.square().mean()
    return loss + texture * texture_l1(y, x) if texture else loss


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
    channels_last(enc, dec)
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
        torch.save({"enc": plain_state(enc), "dec": plain_state(dec), "opt": opt.state_dict(), "g": g.get_state(),
                    "step": step, "seconds": time.time() - t_start}, resume + ".tmp")
        os.replace(resume + ".tmp", resume)
    while True:
        prog = (time.time() - t_start) / seconds
        if prog >= 1:
            break
        for gr in opt.param_groups:
            gr["lr"] = ae_lr(lr, step, prog)
        loss = ae_loss(enc, dec, _crops(pool, g, batch, crop), g)
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
    ck = {"recipe": AE_RECIPE, "enc": plain_state(enc), "dec": plain_state(dec), "steps": step,
          "seconds": time.time() - t_start, "psnr": psnr}
    log(f"autoencoder: {step} steps in {ck['seconds']:.0f}s, held-out PSNR {psnr:.2f} dB")
    torch.save(ck, path + ".tmp")
    os.replace(path + ".tmp", path)
    return ck


REFINE_RECIPE = {"version": 1, "texture": 1.0, "cells": 2.0, "latent_noise": LATENT_NOISE, "lr": 5e-4}


def cell_l1(y, x):
    """L1 of the pixel differences across latent-cell boundaries (pixel i+1 a multiple of FACTOR) against x's"""
    f = FACTOR
    dx = (y[..., :, f::f] - y[..., :, f - 1:-1:f]) - (x[..., :, f::f] - x[..., :, f - 1:-1:f])
    dy = (y[..., f::f, :] - y[..., f - 1:-1:f, :]) - (x[..., f::f, :] - x[..., f - 1:-1:f, :])
    return dx.abs().mean() + dy.abs().mean()


def _lum_grad(x):
    lum = x.mean(1, keepdim=True)
    dx, dy = lum[..., :-1, 1:] - lum[..., :-1, :-1], lum[..., 1:, :-1] - lum[..., :-1, :-1]
    return (dx * dx + dy * dy + 1e-6).sqrt()


def texture_l1(y, x, pool=4):
    """L1 of the luminance gradient's magnitude averaged over pool x pool pixels, against x's"""
    return (F.avg_pool2d(_lum_grad(y), pool) - F.avg_pool2d(_lum_grad(x), pool)).abs().mean()


def decoder_from_state(state):
    """a Decoder holding an exported (folded) decoder: decoder.N.weight / decoder.N.bias; it takes the
    normalised latent, as the engine's does"""
    dec = Decoder()
    for i, conv in enumerate(dec.convs):
        conv.weight.data.copy_(state[f"decoder.{i}.weight"].float())
        conv.bias.data.copy_(state[f"decoder.{i}.bias"].float())
    return dec


def decoder_state(dec):
    return {f"decoder.{i}.{k}": getattr(conv, k).detach().float().clone(memory_format=torch.contiguous_format)
            for i, conv in enumerate(dec.convs) for k in ("weight", "bias")}


class NormalisedEncoder(nn.Module):
    """the run's encoder followed by the latent normalisation the transformer and the folded decoder use"""
    def __init__(self, enc, mean, std):
        super().__init__()
        self.enc = enc
        self.register_buffer("mean", mean.float()[None, :, None, None])
        self.register_buffer("std", std.float()[None, :, None, None])

    def forward(self, x):
        return (self.enc(x) - self.mean) / self.std


def _crops(pool, g, batch, crop):
    idx = torch.randint(0, pool.shape[0], (batch,), generator=g)
    oy = torch.randint(0, pool.shape[1] - crop + 1, (batch,), generator=g) // FACTOR * FACTOR
    ox = torch.randint(0, pool.shape[2] - crop + 1, (batch,), generator=g) // FACTOR * FACTOR
    fr = torch.stack([pool[i, y:y + crop, x:x + crop] for i, y, x in zip(idx.tolist(), oy.tolist(), ox.tolist())])
    return frames_to_model(fr.float() / 255)


def _bf16():
    from train import cpu_has_bf16   # here, not at the top: train.py imports this module
    return cpu_has_bf16()


def _fit(params, seconds, lr, step_loss, log, what):
    """AdamW with warm-up and cosine decay for `seconds` of wall time; step_loss() -> loss tensor"""
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=1e-4)
    step, run, t0 = 0, 0.0, time.time()
    while (time.time() - t0) < seconds:
        prog = (time.time() - t0) / seconds
        for gr in opt.param_groups:
            gr["lr"] = lr * min(1.0, (step + 1) / 50) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * prog)))
        loss = step_loss()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        run += loss.item()
        if step % 200 == 0:
            log(f"{what} step {step} {time.time() - t0:.0f}s loss {run / 200:.4f}")
            run = 0.0
    return step, time.time() - t0


def refine_frames(seed):
    """what the refit and the refinement train on (the autoencoder's frame pool, rendered as train()
    renders it) and the held-out frames of fresh clips they are judged on: rendered once for both"""
    return render_pool(480, 8, seed + 200), frames_to_model(render_pool(20, 2, seed + 999).float() / 255)


def held_out(encode, dec, x):
    """PSNR and the latent-cell seams (energy across cell boundaries over the energy elsewhere, the
    evaluation's measure) of the held-out frames x reconstructed; the data's seams beside them"""
    with torch.no_grad():
        y = dec(encode(x)).clamp(-1, 1)
    mse = ((y - x) / 2).square().mean((1, 2, 3))

    def seams(v):
        ex, ey = (v[..., :, 1:] - v[..., :, :-1]).square().sum(1), (v[..., 1:, :] - v[..., :-1, :]).square().sum(1)
        b = (torch.arange(1, v.shape[-1]) % FACTOR) == 0
        on = ex[..., b].sum() + ey[..., b, :].sum()
        off = ex[..., ~b].sum() + ey[..., ~b, :].sum()
        return float((on / b.sum()) / (off / (~b).sum()))
    return {"psnr": round((10 * torch.log10(1 / mse)).mean().item(), 2), "seams": round(seams((y + 1) / 2), 3),
            "seams_data": round(seams((x + 1) / 2), 3)}


def refit_encoder(dec_state, frames, seconds, seed=1, log=print):
    """an encoder fitted to a fixed (exported) decoder: what refine needs for a model whose run's ae.pt is
    gone. It outputs normalised latents; a small penalty keeps their channels at mean 0, std 1 (the
    decoder and the transformer expect that range). frames: refine_frames(seed)."""
    torch.manual_seed(seed)
    pool, test = frames
    dec = decoder_from_state(dec_state).requires_grad_(False)
    enc = Encoder()
    channels_last(enc, dec)
    g = torch.Generator().manual_seed(seed + 400)
    bf16 = _bf16()

    def step_loss():
        x = _crops(pool, g, 32, 128)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            z = enc(x)
            y = dec(z)
        z, y = z.float(), y.float()
        spread = z.mean((0, 2, 3)).square().mean() + (z.std((0, 2, 3)) - 1).square().mean()
        return (y - x).abs().mean() + grad_l1(y, x) + 0.01 * spread
    steps, secs = _fit(list(enc.parameters()), seconds, 2e-3, step_loss, log, "encoder refit")
    held = held_out(enc.eval(), dec, test)
    log(f"encoder refit: {steps} steps in {secs:.0f}s, {held}")
    return enc.eval(), held


def refine_decoder(encode, dec_state, frames, seconds, seed=1, log=print):
    """the decoder refinement: -> (the refined decoder's state, folded like dec_state; a summary).
    frames: refine_frames(seed)."""
    r = REFINE_RECIPE
    torch.manual_seed(seed)
    pool, test = frames
    encode = encode.eval().requires_grad_(False)
    dec = decoder_from_state(dec_state)
    channels_last(encode, dec)   # a decoder step under bf16 autocast 0.15 -> 0.08 s on 2 cores
    before = held_out(encode, dec.eval(), test)
    log(f"decoder refinement: before {before}")
    g = torch.Generator().manual_seed(seed + 500)
    bf16 = _bf16()
    dec.train()

    def step_loss():
        x = _crops(pool, g, 32, 128)
        with torch.no_grad():
            z = encode(x)
            z = z + r["latent_noise"] * torch.randn(z.shape, generator=g)   # normalised: std 1 per channel
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = dec(z)
        y = y.float()
        return ((y - x).abs().mean() + grad_l1(y, x) + r["texture"] * texture_l1(y, x) +
                r["cells"] * cell_l1(y, x))
    steps, secs = _fit(list(dec.parameters()), seconds, r["lr"], step_loss, log, "decoder refinement")
    after = held_out(encode, dec.eval(), test)
    log(f"decoder refinement: {steps} steps in {secs:.0f}s, after {after}")
    return decoder_state(dec), {"recipe": r, "steps": steps, "seconds": round(secs, 1), "before": before,
                                "after": after}


def load(ck):
    enc, dec = Encoder(), Decoder()
    enc.load_state_dict(ck["enc"])
    dec.load_state_dict(ck["dec"])
    return enc.eval(), dec.eval()


def _model_decoder(stem):
    import safetensors_io
    sd, meta = safetensors_io.load(stem + ".safetensors")
    return sd, meta


def checkpoint_latent(path):
    """a transformer checkpoint's "latent" entry (its folded decoder and latent normalisation); train.py
    writes a checkpoint over 15 MB as parts (PATH.0, PATH.1, ...), which checkpoint_io.load_ckpt joins. Raises
    FileNotFoundError when neither exists, ValueError for a checkpoint without a latent."""
    lt = load_ckpt(path).get("latent")
    if not lt:
        raise ValueError("not a latent video model's checkpoint")
    return lt


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the autoencoder (train.py runs this as its first video stage)")
    t.add_argument("--out", required=True)
    t.add_argument("--seconds", type=float, default=720)
    r = sub.add_parser("refine", help="the decoder refinement stage")
    r.add_argument("--ae", help="the run's OUT/ae.pt (with --ckpt)")
    r.add_argument("--ckpt", help="the run's last checkpoint: its folded decoder and latent normalisation")
    r.add_argument("--model", help="instead: an exported model (STEM.safetensors); an encoder is fitted to its "
                                   "decoder first (--refit-seconds)")
    r.add_argument("--refit-seconds", type=float, default=360)
    r.add_argument("--out", required=True, help="the refined decoder (a .pt file: export.py --decoder)")
    r.add_argument("--seconds", type=float, default=300)
    p = sub.add_parser("apply", help="write a refined decoder into an exported model (both files)")
    p.add_argument("--model", required=True)
    p.add_argument("--decoder", required=True)
    j = sub.add_parser("jitter", help="how much a still scene moves when its latent wanders (latent_jitter)")
    j.add_argument("--ae", required=True, help="an autoencoder checkpoint (a run's OUT/ae.pt)")
    j.add_argument("--families", default=",".join(VIDEO_FAMILIES))
    j.add_argument("--frames", type=int, default=48)
    for q in (t, r):
        q.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    log = lambda m: print(m, flush=True)  # noqa: E731
    if a.cmd == "train":
        os.makedirs(a.out, exist_ok=True)
        train(a.out, a.seconds, a.seed, log=log)
    elif a.cmd == "jitter":
        torch.set_num_threads(1)
        enc, dec = load(torch.load(a.ae))
        latent_jitter(enc, dec, a.families.split(","), a.frames, log=log)
    elif a.cmd == "refine":
        if os.path.exists(a.out):
            log(f"{a.out} exists: the refinement is done (remove it to run it again)")
            return
        if a.model:
            stem = a.model[:-5] if a.model.endswith(".json") else a.model
            sd, _ = _model_decoder(stem)
            dec_state = {k: v for k, v in sd.items() if k.startswith("decoder.")}
            frames = refine_frames(a.seed)
            encode, _ = refit_encoder(dec_state, frames, a.refit_seconds, a.seed, log)
            source = {"model": os.path.basename(stem), "encoder": f"refitted to its decoder, {a.refit_seconds:.0f} s"}
        elif a.ae and a.ckpt:
            try:
                lt = checkpoint_latent(a.ckpt)
            except (OSError, ValueError) as err:
                ap.error(f"--ckpt {a.ckpt}: {err}")
            enc, _ = load(torch.load(a.ae))
            encode = NormalisedEncoder(enc, lt["mean"], lt["std"])
            dec_state = lt["decoder"]
            source = {"ckpt": os.path.basename(a.ckpt), "encoder": "the run's"}
            frames = refine_frames(a.seed)
        else:
            ap.error("refine: --ae and --ckpt, or --model")
        state, info = refine_decoder(encode, dec_state, frames, a.seconds, a.seed, log)
        torch.save({"decoder": state, "info": dict(info, source=source)}, a.out + ".tmp")
        os.replace(a.out + ".tmp", a.out)
        log(f"wrote {a.out}")
    else:
        import json
        import safetensors_io
        stem = a.model[:-5] if a.model.endswith(".json") else a.model
        sd, meta = _model_decoder(stem)
        ref = torch.load(a.decoder)
        try:
            put_refined_decoder(sd, ref, f"{stem}.safetensors")
        except ValueError as e:
            raise SystemExit(f"{a.decoder}: {e}")
        safetensors_io.save(stem + ".safetensors", sd, "F32", meta)
        conf = json.load(open(stem + ".json"))
        conf.setdefault("training", {})["decoder_refinement"] = refinement_summary(ref["info"])
        with open(stem + ".json", "w") as f:
            json.dump(conf, f, indent=1)
            f.write("\n")
        log(f"wrote the refined decoder into {stem}.safetensors and {stem}.json")


def latent_jitter(enc, dec, families, frames=48, levels=(0.0, 0.02, 0.05, 0.1), seed=5, log=print):
    """How still a decoded stream can be: each family's data clip through the autoencoder, with independent
    Gaussian noise of each level (times the clip's latent standard deviation) added to every frame's latent,
    and the mean frame-to-frame difference of what the decoder draws over the data's own. A streaming model
    whose latents wander from frame to frame by that much draws that much motion into a still scene."""
    import video_eval
    g = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    info = {"width": 256, "fps": 24.0}
    out = {}
    for fam in families:
        d = video_eval.render_data([fam], frames, info, rng)[0]                 # [N, H, W, 3] in [0, 1]
        dd = (d[1:] - d[:-1]).abs().mean().item()
        with torch.no_grad():
            z = enc(frames_to_model(d))
            ratios = []
            for lv in levels:
                zz = z + lv * z.std() * torch.randn(z.shape, generator=g)
                y = ((dec(zz).clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1)
                ratios.append((y[1:] - y[:-1]).abs().mean().item() / dd)
        out[fam] = {"data_diff": round(dd, 6), "ratios": ratios}
        log(f"{fam}: the data's frame difference {dd * 1000:.2f}/1000; decoded with latent noise "
            + ", ".join(f"{lv:g}: {r:.2f}x" for lv, r in zip(levels, ratios)))
    return out


def put_refined_decoder(tensors, refined, target):
    """a model's tensors (name -> tensor) with a refine output's decoder in their place; ValueError
    naming the first tensor that does not fit `target` (the tensors are then unchanged)"""
    for k, v in refined["decoder"].items():
        if k not in tensors or tensors[k].shape != v.shape:
            raise ValueError(f"{k} does not fit {target}")
    tensors.update(refined["decoder"])


def refinement_summary(info):
    """what the model's JSON records of a decoder refinement (training.decoder_refinement)"""
    return {"steps": info["steps"], "seconds": info["seconds"], "texture": info["recipe"]["texture"],
            "cells": info["recipe"]["cells"], "held_out_before": info["before"], "held_out_after": info["after"],
            **{k: v for k, v in info.get("source", {}).items() if k == "encoder"}}


if __name__ == "__main__":
    main()
