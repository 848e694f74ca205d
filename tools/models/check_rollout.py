"""The model's own rollouts used in training (rollout.py) are what the stream's window holds: given the
stream's noise, each generated context frame equals the frame the reference sampler (reference.Stream, the
behaviour the C engine reproduces) keeps in its window, for both ways a frame joins the window and with
classifier-free guidance and with the starting noise carried from frame to frame, and for a model whose frame
before input is that frame as made (previous_frame_clean) that input too; a rollout that keeps its first frames real keeps them exactly as the window would
(noised to the commit level) and generates the rest against them; a start or real count outside range is
refused. The own-motion target (train.py --rollout-target own-motion) follows the rollout for a still clip and
keeps the real frame for a moving one; with a weight below 1 it keeps that share of the drift.
  /usr/bin/python3 tools/models/check_rollout.py
"""
import os
import struct
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import reference  # noqa: E402
import rollout  # noqa: E402
from vocab import VOCAB  # noqa: E402


def check(name, cfg, commit, guidance, frames=6, carry=0.0):
    torch.manual_seed(1)
    net = M.DriftDiT(cfg)
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    T, P = cfg["tokens"], cfg["in_dim"]
    draws = {(f, kind): torch.randn(1, T, P) for f in range(frames) for kind in ("init", "context")}
    conf = {"sampler": {"default": "euler", "steps": 3, "shift": 1.0, "guidance": guidance, "context_t": 0.3,
                        "commit": commit, "noise_carry": carry}}
    with tempfile.NamedTemporaryFile(suffix=".f32") as nf:
        for f in range(frames):   # the stream reads, per frame, its starting noise then its context noise
            for kind in ("init", "context"):
                d = draws[(f, kind)]
                if cfg["kind"] == "video":   # a video frame's noise is read as the latent image (HWC)
                    d = M.unpatchify(d, cfg["patch"], cfg["latent_height"], cfg["latent_width"], cfg["latent_channels"])
                nf.write(struct.pack(f"<{T * P}f", *d.flatten().tolist()))
        nf.flush()
        st = reference.Stream(net, conf, "calm blue ocean", noise_file=nf.name)
        kept, before = [], []
        for f in range(frames):
            st.next()
            kept.append(st.last[0][0] if commit == "last-step" else st.prev)   # what the window keeps
            before.append(st.prev)   # the next frame's "frame before" input
    with torch.no_grad():
        text = st.encode("calm blue ocean")
        null = st.encode("")
    x0 = torch.randn(1, frames + 1, T, P)   # unused from pure noise (start 0): 0 * x0 + 1 * noise
    made = []
    ctx, levels = rollout.own_context(net, x0, text, null, steps=3, start=0, first_start=0, guidance=guidance,
                                      commit=commit, context_t=0.3, clip=1.0,
                                      noise=lambda like, f, kind: draws[(f, kind)], noise_carry=carry, made=made)
    err = (ctx[0] - torch.cat(kept)).abs().max().item()
    if cfg.get("previous_frame_clean"):   # the frame before input is each frame as made, not as kept
        err = max(err, (torch.cat(made) - torch.cat(before)).abs().max().item())
    want_t = 1.0 / 3.0 if commit == "last-step" else 0.3
    level_ok = torch.allclose(levels, torch.full_like(levels, want_t))
    print(f"{name}, commit {commit}, guidance {guidance}, noise carry {carry}: rollout vs reference stream window: max abs difference "
          f"{err:.3g} over {frames} frames; levels {levels.tolist()}")
    return err < 1e-4 and level_ok


def check_real_prefix(cfg, commit, real=2, frames=5):
    """The first `real` frames come back as the real frames noised to the commit level; the generated ones after
    them see that real window (they differ from a full rollout's frames with the same noise)."""
    torch.manual_seed(2)
    net = M.DriftDiT(cfg)
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    T, P = cfg["tokens"], cfg["in_dim"]
    draws = {(f, kind): torch.randn(1, T, P) for f in range(frames) for kind in ("init", "context")}
    x0 = torch.randn(1, frames, T, P)
    text, null = torch.randn(1, cfg["hidden"]), torch.randn(1, cfg["hidden"])
    run = lambda r: rollout.own_context(net, x0, text, null, steps=3, start=0, first_start=1, commit=commit,
                                        context_t=0.3, noise=lambda like, f, kind: draws[(f, kind)], real=r)
    ctx, levels = run(real)
    full, _ = run(0)
    c = 0.3 if commit == "pass" else 1.0 / 3.0
    want = torch.stack([(1 - c) * x0[:, j] + c * draws[(j, "context")] for j in range(real)], 1)
    err = (ctx[:, :real] - want).abs().max().item()
    moved = (ctx[:, real:] - full[:, real:]).abs().max().item()
    ok = err < 1e-6 and moved > 1e-3 and torch.allclose(levels, torch.full_like(levels, c))
    print(f"real prefix of {real}, commit {commit}: real frames off by {err:.3g}; generated frames moved by "
          f"{moved:.3g} against a full rollout: {'ok' if ok else 'FAILED'}")
    return ok


def check_real_per_clip(cfg, commit, frames=5):
    """Real prefixes per clip: in a batch of two clips keeping 2 and 0 real frames, each clip comes back as it
    would from a batch that keeps its count for every clip."""
    torch.manual_seed(3)
    net = M.DriftDiT(cfg)
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    T, P = cfg["tokens"], cfg["in_dim"]
    draws = {(f, kind): torch.randn(2, T, P) for f in range(frames) for kind in ("init", "context")}
    x0 = torch.randn(2, frames, T, P)
    text, null = torch.randn(2, cfg["hidden"]), torch.randn(2, cfg["hidden"])
    run = lambda r: rollout.own_context(net, x0, text, null, steps=3, start=0, first_start=1, commit=commit,
                                        context_t=0.3, noise=lambda like, f, kind: draws[(f, kind)], real=r)[0]
    mixed, two, none = run(torch.tensor([2, 0])), run(2), run(0)
    err = max((mixed[0] - two[0]).abs().max().item(), (mixed[1] - none[1]).abs().max().item())
    apart = (two[0] - none[0]).abs().max().item()
    ok = err < 1e-5 and apart > 1e-3
    print(f"real prefixes per clip (2, 0), commit {commit}: off by {err:.3g} from the uniform batches "
          f"(which differ by {apart:.3g}): {'ok' if ok else 'FAILED'}")
    return ok


def check_own_motion_target():
    """A still clip's target follows the rollout (the real last frame plus the rollout's drift), a moving clip's
    stays the real frame; a weight of 0.5 keeps half the drift; a scale <= 0 or a weight outside (0, 1] is
    refused."""
    torch.manual_seed(4)
    T, P = 4, 6
    base = torch.randn(2, 1, T, P)
    step = torch.full((2, 1, T, P), 0.001)
    step[1] = 1.0   # clip 1 moves by 1 a frame, clip 0 by 0.001
    x0 = torch.cat([base, base + step, base + 2 * step], 1)
    made = x0[:, -2] + 0.3   # the rollout drifted by 0.3 from the real frame before
    target, a = rollout.own_motion_target(x0, made, 0.02)
    still = (target[0] - (made[0] + 0.001)).abs().max().item()
    moving = (target[1] - x0[1, -1]).abs().max().item()
    ok = still < 1e-3 and moving < 1e-6 and a[0] > 0.99 and a[1] < 1e-6
    half, a_half = rollout.own_motion_target(x0, made, 0.02, weight=0.5)
    halfway = (half[0] - (x0[0, -1] + 0.5 * a[0] * (made[0] - x0[0, -2]))).abs().max().item()
    ok &= halfway < 1e-6 and abs(float(a_half[0]) - 0.5 * float(a[0])) < 1e-6
    for bad in ({"scale": 0.0}, {"scale": 0.02, "weight": 0.0}, {"scale": 0.02, "weight": 1.5}):
        try:
            rollout.own_motion_target(x0, made, **bad)
            ok = False
            print(f"own-motion {bad}: accepted, should be refused")
        except ValueError as e:
            print(f"own-motion {bad}: refused ({e})")
    print(f"own-motion target: a still clip's off the rollout's frame plus its motion by {still:.3g}, a moving "
          f"clip's off its real frame by {moving:.3g} (a = {a[0]:.3f}, {a[1]:.3g}): {'ok' if ok else 'FAILED'}")
    return ok


def main():
    video = M.video_config(len(VOCAB), width=32, height=32, patch=2, hidden=32, depth=2, heads=2, window=3,
                           text_dim=8, latent_factor=4, latent_channels=4, prediction="x", previous_frame_input=True)
    audio = M.audio_config(len(VOCAB), chunk=64, patch=16, hidden=32, depth=2, heads=2, window=3, text_dim=8,
                           representation="pcm")
    ok = check("latent video, frame before", video, "last-step", 2.0)
    ok &= check("audio", audio, "pass", 1.0)
    ok &= check("latent video, frame before", video, "last-step", 2.0, carry=0.9)
    ok &= check("latent video, frame before as made", dict(video, previous_frame_clean=True), "last-step", 2.0,
                carry=0.9)
    ok &= check("latent video, the frame before plus the output", dict(video, previous_frame_clean=True,
                previous_frame_residual=True), "last-step", 2.0, carry=0.9)
    ok &= check_real_prefix(audio, "pass")
    ok &= check_real_prefix(video, "last-step")
    ok &= check_real_per_clip(audio, "pass")
    ok &= check_real_per_clip(video, "last-step")
    ok &= check_own_motion_target()
    net = M.DriftDiT(audio)
    for bad in ({"start": 3}, {"first_start": -1}, {"commit": "both"}, {"real": 2}, {"real": -1},
                {"real": torch.tensor([0, 2])}):
        try:
            rollout.own_context(net, torch.zeros(1, 3, audio["tokens"], audio["in_dim"]), torch.zeros(1, 32),
                                torch.zeros(1, 32), **bad)
            print(f"{bad}: accepted, should be refused")
            ok = False
        except ValueError as e:
            print(f"{bad}: refused ({e})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
