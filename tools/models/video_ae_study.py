"""Autoencoder designs side by side: trains a candidate (latent factor, channels, decoder widths) with
video_ae.py's recipe for a fixed number of steps (a fixed count, so a busy machine changes the time and not
the result) and prints, on whole frames of fresh clips: PSNR, the share of the data's image gradient the
reconstruction keeps per family (video_eval.py's measure, the one the issue's bar is on), and the
decoder's multiply-adds per 256x256 frame (the frame budget's part).

  /usr/bin/python3 tools/models/video_ae_study.py --factor 8 --channels 8 --steps 3600      # the recipe's
  /usr/bin/python3 tools/models/video_ae_study.py --factor 4 --channels 4 --widths 48,48,48,24,12

One JSON line per run (--out FILE appends it there too). Results: models/README.md (the video model's
autoencoder).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import video_ae as V  # noqa: E402
from video_eval import grad_mag  # noqa: E402
from vocab import VIDEO_FAMILIES  # noqa: E402

TEST_CLIPS, TEST_FRAMES = 40, 2      # render_pool: the families in turn, TEST_FRAMES frames a clip


def judge(enc, dec, test):
    """PSNR and, per family, (gradient kept, PSNR) of test frames [N, 3, H, W] reconstructed"""
    with torch.no_grad():
        y = dec(enc(test)).clamp(-1, 1)
    psnr = 10 * torch.log10(1 / ((y - test) / 2).square().mean((1, 2, 3)))
    gx = grad_mag(((test + 1) / 2).permute(0, 2, 3, 1))
    gy = grad_mag(((y + 1) / 2).permute(0, 2, 3, 1))
    fam = torch.arange(test.shape[0]) // TEST_FRAMES % len(VIDEO_FAMILIES)
    per = {f: {"gradient_kept": round(float(gy[fam == i].mean() / gx[fam == i].mean()), 3),
               "psnr": round(float(psnr[fam == i].mean()), 2)} for i, f in enumerate(VIDEO_FAMILIES)}
    return round(float(psnr.mean()), 2), per


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--factor", type=int, default=V.FACTOR, choices=[4, 8, 16])
    ap.add_argument("--channels", type=int, default=V.CHANNELS)
    ap.add_argument("--widths", default=",".join(map(str, V.DECODER_WIDTHS)),
                    help="each decoder convolution's output channels, the last 3 * shuffle^2 = 12")
    ap.add_argument("--encoder-width", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3600)
    ap.add_argument("--texture", type=float, default=0.0, help="weight of video_ae.texture_l1 in the loss")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="append the result line to this file")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(a.seed)
    widths = [int(w) for w in a.widths.split(",")]
    enc = V.Encoder(a.factor, a.channels, a.encoder_width)
    try:
        dec = V.Decoder(a.factor, a.channels, widths)
    except ValueError as e:
        ap.error(str(e))
    V.channels_last(enc, dec)                           # as video_ae.train
    pool = V.render_pool(480, 8, a.seed + 200)         # as video_ae.train renders it
    test = V.frames_to_model(V.render_pool(TEST_CLIPS, TEST_FRAMES, a.seed + 999).float() / 255)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.99), weight_decay=1e-4)
    g = torch.Generator().manual_seed(a.seed + 300)
    t0, run = time.time(), 0.0
    for step in range(a.steps):     # video_ae.train's loop, by steps instead of seconds
        for gr in opt.param_groups:
            gr["lr"] = V.ae_lr(a.lr, step, step / a.steps)
        loss = V.ae_loss(enc, dec, V._crops(pool, g, 32, 128), g, a.texture)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run += loss.item()
        if (step + 1) % 250 == 0:
            print(f"step {step + 1} {time.time() - t0:.0f}s loss {run / 250:.4f}", flush=True)
            run = 0.0
    psnr, per = judge(enc.eval(), dec.eval(), test)
    res = {"factor": a.factor, "channels": a.channels, "widths": widths, "encoder_width": a.encoder_width,
           "texture": a.texture, "steps": a.steps, "seconds": round(time.time() - t0),
           "latent_values": (256 // a.factor) ** 2 * a.channels,
           "decoder_gmac": round(V.decoder_macs(256 // a.factor, 256 // a.factor, a.factor, a.channels, widths) / 1e9, 3),
           "psnr": psnr, "families": per}
    line = json.dumps(res)
    print(line, flush=True)
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
