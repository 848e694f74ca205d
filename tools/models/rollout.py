"""Context frames made by the model itself, for training on its own rollouts (after Self-Forcing, 2025).

Trained only on real context, a streaming model meets its own output as context from the second frame on,
and its small, systematic errors (a ringing partial predicted a little loud, a texture a little streaked)
are fed back and compound: the chimes run away to 6x the data's level, video falls into stripes over 3000
frames. Here a clip's context frames are what the stream's window would hold had the model made them: each
frame is sampled frame by frame with the shipped sampler (Euler, the same steps, guidance, commit rule)
against the model's own earlier frames, so its errors and their feedback are in the context. The training
target stays the real clip: the model learns to pull its own context back to the data.

The clip's first frame is anchored to its real frame: its sampling starts at the schedule's step `first_start`
(t = ts[first_start]) from the real frame noised there. From pure noise a stream's first frame is a new draw
of the prompt (another colour, another phase), and the real clip after it would no longer be its future.
Later frames start at step `start`: 0 is what the stream does (pure noise, the context alone says what comes
next), and it is where a model that predicts the mean adds a little of every possible event to each frame
(a strike on every chime partial) that the next frame then carries on; anchored at step 1 that first step is
never taken and its error never seen (the chimes still ran away after such a run, models/README.md).

With `real` R > 0 the clip's first R frames stay real (noised to the commit level, as the window would keep a
frame that was made exactly) and only frames R..L-2 are generated, from step `start`, against that real
window. A long rollout may pick another pitch or phase than the real clip that follows it, and a model trained
to give that real frame back learns to hedge (the engine hum fell to 0.7x its level); a short one stays
consistent with its target while its errors are still fed back.
"""
import torch

import model as M
import noise as N


@torch.no_grad()
def own_context(net, x0, text, null, steps=3, start=0, first_start=1, guidance=1.0, commit="last-step", context_t=0.3, clip=1.0,
                bf16=False, noise=None, shift=1.0, real=0, noise_carry=0.0, made=None):
    """x0 [B, L, T, P]: a real clip (model space); text, null [B, D]: the prompt's and the empty prompt's
    conditioning. Frames real..L-2 are generated in order, each against the window of those before it; frames
    0..real-1 are the real ones as the window keeps them. `real` is one count for the batch or a tensor [B] of
    counts per clip (the clips of one batch may keep different real prefixes: every frame is sampled for the
    whole batch and a clip's real frames then replace its sampled ones before they enter the window).

    Returns (x [B, L-1, T, P], t [L-1]): each generated frame as the window keeps it, with its noise level:
    commit "last-step" keeps the input of the sampler's last evaluation (t = ts[steps-1]); "pass" keeps the
    clean frame noised to context_t. noise(like, frame, kind): the frame's starting noise (kind "init") or its
    context noise ("context"), shaped like `like`; default Gaussian draws (tools/models/check_rollout.py gives
    the stream's own noise to compare with the reference sampler). noise_carry c: each generated frame's starting
    noise is c times the one before's plus sqrt(1 - c^2) times its own draw, as the stream's sampler.noise_carry
    (the first generated frame's is its own draw). made: a list that
    receives each context frame as made (clean; a clip's real frames as they are), which a model with
    previous_frame_clean takes as the "frame before" input."""
    for name, s in (("start", start), ("first_start", first_start)):
        if not 0 <= s < steps:
            raise ValueError(f"rollout {name} {s}: a step of the {steps}-step schedule (0..{steps - 1})")
    if commit not in ("last-step", "pass"):
        raise ValueError(f"rollout commit {commit!r}: last-step or pass")
    B, L, T, P = x0.shape
    real = torch.as_tensor(real, dtype=torch.long, device=x0.device)
    if real.dim() > 1 or real.numel() not in (1, B):
        raise ValueError(f"rollout real of shape {list(real.shape)}: one count or one per clip ({B})")
    real = real.expand(B)
    if not (0 <= int(real.min()) and int(real.max()) <= L - 2):
        raise ValueError(f"rollout real {real.tolist()}: 0..{L - 2} real frames before the generated ones "
                         f"(a clip of {L})")
    noise = noise or (lambda like, frame, kind: torch.randn_like(like))
    ts = M.schedule(steps, shift)
    # with guidance the prompt's and the empty prompt's evaluations run as one batch of 2B (one cache): half the
    # calls, each twice as large, which is what a CPU's small products need
    guided = guidance != 1.0
    cond = torch.cat([text, null]) if guided else text
    cache = [[] for _ in net.blocks]
    window = net.cfg["window"]
    clean = bool(net.cfg.get("previous_frame_clean"))
    prev = None
    frames, levels = [], []
    start_prev = None   # the last generated frame's starting noise (noise_carry)

    def evaluate(x, t, prev):
        if guided:
            x, prev = torch.cat([x, x]), (None if prev is None else torch.cat([prev, prev]))
        tt = torch.full((x.shape[0],), t, device=x.device)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            v, kv = net.forward_frame(x, tt, cond, cache, prev)
        v = v.float()
        if guided:
            v = v[B:] + guidance * (v[:B] - v[B:])
        return v, kv

    for j in range(L - 1):
        keep = (j < real).view(B, 1, 1)   # clips whose frame j is real
        if bool(keep.all()):   # a real frame, kept as a frame made exactly would be: noised to the commit level
            last_t = context_t if commit == "pass" else ts[steps - 1]
            last_x = (1 - last_t) * x0[:, j] + last_t * noise(x0[:, j], j, "context")
            _, kvs = evaluate(last_x, last_t, prev)
        else:
            s = first_start if j == 0 else start
            n = noise(x0[:, j], j, "init")
            if noise_carry > 0 and start_prev is not None:
                n = N.carry(start_prev, n, noise_carry)
            start_prev = n
            x = (1 - ts[s]) * x0[:, j] + ts[s] * n
            for i in range(s, steps):
                if i == steps - 1 and commit == "last-step" and bool(keep.any()):
                    # the window keeps the last evaluation's input: for a real clip, its real frame at that level
                    real_x = (1 - ts[i]) * x0[:, j] + ts[i] * noise(x0[:, j], j, "context")
                    x = torch.where(keep, real_x, x)
                v, kvs = evaluate(x, ts[i], prev)
                last_x, last_t = x, ts[i]
                x = x + (ts[i + 1] - ts[i]) * v
            x = x.clamp(-clip, clip)
            if commit == "pass":
                x = torch.where(keep, x0[:, j], x)
                last_x, last_t = (1 - context_t) * x + context_t * noise(x, j, "context"), context_t
                _, kvs = evaluate(last_x, last_t, prev)
        for layer, kv in zip(cache, kvs):
            layer.append(kv)
            if len(layer) > window:
                layer.pop(0)
        if clean or made is not None:   # this frame as made: the next frame's "frame before" input if clean
            as_made = x0[:, j] if bool(keep.all()) else torch.where(keep, x0[:, j], x)
            if made is not None:
                made.append(as_made)
        prev = as_made if clean else last_x
        frames.append(last_x)
        levels.append(last_t)
    return torch.stack(frames, 1), torch.tensor(levels, device=x0.device)


def with_own_context(net, x0, xt, t, text, null, **sampler):
    """A training clip whose frames 0..L-2 are the model's own (own_context) and whose last frame is the real
    one noised as usual: (xt [B, L, T, P], t [B, L], prev). The target is the real clip x0 throughout. prev:
    for a model with previous_frame_clean each frame's "frame before" input [B, L, T, P] (the context frames
    as made, zeros for the first); None otherwise (the model takes the frames before in xt)."""
    made = [] if net.cfg.get("previous_frame_clean") else None
    ctx, levels = own_context(net, x0, text, null, made=made, **sampler)
    B = x0.shape[0]
    prev = torch.stack([torch.zeros_like(x0[:, 0])] + made, 1) if made is not None else None
    return torch.cat([ctx, xt[:, -1:]], 1), torch.cat([levels[None].expand(B, -1), t[:, -1:]], 1), prev


def own_motion_target(x0, before_made, scale, weight=1.0):
    """The target of a rollout's last (real) frame, following the rollout for a still scene.

    The real clip's last frame asks the model to jump from its own window back to the real clip: for a scene
    that barely moves (aurora, clouds: their latents change by 0.004-0.009 of their spread a frame, less than
    a rollout drifts from its real clip in a few frames) that jump is most of what the model is taught to do
    next, and the streams of those scenes wander several times faster than their data. Here the target is the
    real last frame moved by the rollout's own drift: x0[L-1] + a (made - x0[L-2]), the real motion from the
    real frame before applied to the frame before as the model made it. a = exp(-(m / scale)^2) with m the
    clip's own mean |x0[L-1] - x0[L-2]|: about 1 for a still clip, 0 where the scene moves far more than
    `scale` (fire, rain: there the real motion applied to another picture would be a double image, and the
    real frame stays the target), times `weight` (at most 1: a share of the drift kept, the rest pulled back).

    x0 [B, L, T, P] the real clip; before_made [B, T, P] its frame L-2 as the rollout made it. Returns the
    last frame's target [B, T, P] and a [B]."""
    if scale <= 0:
        raise ValueError(f"own-motion scale {scale}: > 0")
    if not 0 < weight <= 1:
        raise ValueError(f"own-motion weight {weight}: in (0, 1]")
    last, before = x0[:, -1], x0[:, -2]
    m = (last - before).abs().mean(dim=(1, 2))
    a = weight * torch.exp(-(m / scale) ** 2)
    return last + a[:, None, None] * (before_made - before), a
