"""drift DiT: one causal diffusion transformer for video frames (2-D patches) and audio chunks (1-D).

Every op maps onto the C engine's op set (docs/MODELS.md): linear (+GELU-tanh / SiLU), LayerNorm without
affine, adaLN modulate, gated residual, attention with an additive per-head per-key bias over a rolling
cache of past frames, embedding lookup, mean pooling, patchify (reshape).
Frame = one video frame or one audio chunk. Each frame carries its own noise level t.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-6
FREQ_DIM = 256
T_SCALE = 1000.0


def frames_before(x):
    """x [B, L, ...] a clip's frames -> each frame's predecessor, zeros for the first (the "frame before" input)"""
    return torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], 1)


def video_config(vocab_size, **kw):
    """latent_factor 1: the transformer's tokens are patches of pixels. latent_factor > 1: patches of the
    autoencoder's latent (tools/models/video_ae.py), latent_channels values per latent cell, decoded to
    pixels after sampling; the diffusion predicts the clean latent ("x" prediction)."""
    c = dict(kind="video", width=128, height=128, channels=3, patch=8, hidden=256, depth=6, heads=4, mlp_ratio=4,
             window=4, text_dim=128, vocab_size=vocab_size, fps=24.0, latent_factor=1, latent_channels=3)
    c.update(kw)
    f = c["latent_factor"]
    if f == 1:
        c["latent_channels"] = c["channels"]
    c["latent_width"], c["latent_height"] = c["width"] // f, c["height"] // f
    c["tokens"] = (c["latent_width"] // c["patch"]) * (c["latent_height"] // c["patch"])
    c["in_dim"] = c["patch"] * c["patch"] * c["latent_channels"]
    c.setdefault("alibi_slopes", [2.0 ** -h for h in range(c["heads"])])
    return c


def audio_config(vocab_size, **kw):
    """representation "stft": one token per STFT frame (tools/models/spectral.py), patch = hop;
    "pcm": one token per `patch` samples."""
    c = dict(kind="audio", sample_rate=24000, chunk=2048, representation="stft", hidden=192, depth=6, heads=4,
             mlp_ratio=4, window=4, text_dim=64, vocab_size=vocab_size, audio_scale=0.25)
    # A token of 513 magnitudes is wider than the network (D = 128..192): the noise in v = eps - x0 cannot
    # pass through it, so the network predicts the clean token and v is derived from it ("x" prediction,
    # "Back to Basics: Let Denoising Generative Models Denoise", 2025).
    c.setdefault("prediction", "x" if kw.get("representation", "stft") == "stft" else "v")
    c.update(kw)
    if c["representation"] == "stft":
        import spectral
        c["patch"] = spectral.HOP
        c["n_fft"] = spectral.N_FFT
        c["tokens"] = c["chunk"] // spectral.HOP
        c["in_dim"] = spectral.BINS
    else:
        c.setdefault("patch", 128)
        c["tokens"] = c["chunk"] // c["patch"]
        c["in_dim"] = c["patch"]
    c.setdefault("alibi_slopes", [2.0 ** -h for h in range(c["heads"])])
    return c


# ---- patchify: video frames are HWC; token order is raster over (py, px), values ordered (dy, dx, c)
def patchify(frames, p):
    """[..., H, W, C] -> [..., (H/p)*(W/p), p*p*C]"""
    *lead, H, W, C = frames.shape
    x = frames.reshape(*lead, H // p, p, W // p, p, C)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 1, n + 3, n + 4)
    return x.reshape(*lead, (H // p) * (W // p), p * p * C)


def unpatchify(tokens, p, H, W, C):
    *lead, T, _ = tokens.shape
    x = tokens.reshape(*lead, H // p, W // p, p, p, C)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 1, n + 3, n + 4)
    return x.reshape(*lead, H, W, C)


def schedule(steps, shift):
    """the sampler's times: t_i = shift*s/(1+(shift-1)*s), s = 1 - i/steps, i = 0..steps (computed in double,
    used as float32); the reference sampler's and the training rollouts' (rollout.py)"""
    out = []
    for i in range(steps + 1):
        s = 1.0 - i / steps
        out.append(shift * s / (1.0 + (shift - 1.0) * s))
    return out


X_PRED_T_MIN = 0.05   # x prediction: v = (x_t - x0_hat) / max(t, X_PRED_T_MIN)


def to_velocity(cfg, x, t, out, prev=None):
    """the network's output -> the velocity the sampler integrates. x [..., T, P] (x_t), t [...] per frame;
    prev: the frame before as made (arch previous_frame_residual: the clean frame is prev + out; None or a
    stream's first frame: zeros, the clean frame is out)."""
    if cfg.get("prediction", "v") != "x":
        return out
    if cfg.get("previous_frame_residual") and prev is not None:
        out = out + prev
    return (x - out) / t.clamp(min=X_PRED_T_MIN)[..., None, None]


def timestep_embedding(t):
    """t [...] in [0,1] -> [..., 256]: cat(cos(1000 t f_i), sin(1000 t f_i)), f_i = 10000^(-i/128)."""
    half = FREQ_DIM // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    a = (t.float() * T_SCALE)[..., None] * freqs
    return torch.cat([torch.cos(a), torch.sin(a)], -1)


def refiner_channels(cfg):
    """the refiner's convolutions as (in, out) channel pairs; [] without one (arch.refiner absent)"""
    r = cfg.get("refiner")
    if not r:
        return []
    C = cfg["latent_channels"]
    chans = [3 * C + 1] + [r["channels"]] * (r["layers"] - 1) + [C]
    return list(zip(chans[:-1], chans[1:]))


class Refiner(nn.Module):
    """A small convolutional head on the latent grid after the transformer (a "patch detailer", DiP 2025).

    The transformer sees the frame as 4x4-cell patches and emits each patch through one linear layer: the
    detail inside a patch and the seams between patches are what it draws worst (the 32-pixel grid), and
    carrying the picture on from the frame before through a 192-wide residual stream is slow to learn. The
    refiner sees, cell by cell, the transformer's clean frame, the frame's noisy input x_t, the frame before
    (as the window keeps it; zeros for a stream's first frame) and a map filled with t, and adds a correction
    to the clean frame: 3x3 convolutions, padding 1, SiLU between them, the last one zero at the start (the
    model starts as the transformer alone). x prediction only."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        # registered as "0", "1", ...: the tensors are refiner.N.weight [O, I, 3, 3] and refiner.N.bias [O]
        for n, (i, o) in enumerate(refiner_channels(cfg)):
            self.add_module(str(n), nn.Conv2d(i, o, 3, padding=1))
        self.convs = list(self.children())
        nn.init.zeros_(self.convs[-1].weight)
        nn.init.zeros_(self.convs[-1].bias)

    def grid(self, tok):
        c = self.cfg
        return unpatchify(tok, c["patch"], c["latent_height"], c["latent_width"], c["latent_channels"]).permute(0, 3, 1, 2)

    def forward(self, x0, x, prev, t):
        """x0, x, prev [N, T, P] tokens (prev None: zeros), t [N] -> the refined clean frame [N, T, P]"""
        N = x0.shape[0]
        g0 = self.grid(x0)
        tmap = t.to(g0.dtype)[:, None, None, None].expand(N, 1, *g0.shape[2:])
        gp = self.grid(prev) if prev is not None else torch.zeros_like(g0)
        h = torch.cat([g0, self.grid(x), gp, tmap], 1)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < len(self.convs) - 1:
                h = F.silu(h)
        return x0 + patchify(h.permute(0, 2, 3, 1), self.cfg["patch"])


def sincos_positions(cfg):
    """[T, D] fixed sine-cosine positions at full scale (values in [-1, 1], row norm sqrt(D/2), as DiT's):
    video tokens on their 2-D patch grid (half the channels for the row, half for the column), audio tokens
    in a line. A learned table initialised at 0.02 (the default) is about 10x weaker than a token's content
    after patch_embed; at t = 1 the input is pure noise and the position is all that tells the tokens apart,
    so such a model draws the same texture in every token (a lattice at the token size)."""
    D, T = cfg["hidden"], cfg["tokens"]

    def axis(pos, n, dim):
        # frequencies from a half period over the n positions up to 0.9 pi (DiT's 1/10000^(i/d) would make most
        # channels nearly constant over a grid of 8: every position would look alike after the layer norm)
        k = dim // 2
        omega = (math.pi / n) * (0.9 * n) ** (torch.arange(k, dtype=torch.float64) / max(1, k - 1))
        a = pos.double()[:, None] * omega[None]
        return torch.cat([torch.sin(a), torch.cos(a)], 1)

    if cfg["kind"] == "video":
        gw = cfg["latent_width"] // cfg["patch"]
        gh = T // gw
        idx = torch.arange(T)
        pe = torch.cat([axis(idx // gw, gh, D // 2), axis(idx % gw, gw, D - D // 2)], 1)
    else:
        pe = axis(torch.arange(T), T, D)
    return pe.float()


# forward() on the CPU attends frame by frame (DriftDiT.clip_attention) from this many tokens a frame: measured
# on 2 cores, a video training step (64 tokens) 5-11 % shorter, an audio one (8 tokens) 10 % longer.
FRAMEWISE_MIN_TOKENS = 32


def layer_norm(x):
    return F.layer_norm(x, x.shape[-1:], eps=LN_EPS)


class Block(nn.Module):
    def __init__(self, D, H, mlp_ratio):
        super().__init__()
        self.H = H
        self.adaLN = nn.Linear(D, 6 * D)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(D, 3 * D)
        self.attn.proj = nn.Linear(D, D)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(D, mlp_ratio * D)
        self.mlp.fc2 = nn.Linear(mlp_ratio * D, D)
        nn.init.zeros_(self.adaLN.weight)
        nn.init.zeros_(self.adaLN.bias)

    def qkv_heads(self, h):
        """h [..., N, D] -> q, k, v each [..., H, N, dh]"""
        *lead, N, D = h.shape
        qkv = self.attn.qkv(h).reshape(*lead, N, 3, self.H, D // self.H)
        qkv = qkv.movedim(-3, 0).transpose(-3, -2)   # [3, ..., H, N, dh]
        return qkv[0], qkv[1], qkv[2]

    def mlp_out(self, a):
        # GELU in fp32 under bf16 autocast: PyTorch 1.13's CPU kernel for the tanh form is 2x slower in bf16
        # than in fp32 (fwd+bwd), a sixth of a video training step; the values are the same to bf16 rounding
        return self.mlp.fc2(F.gelu(self.mlp.fc1(a).float(), approximate="tanh"))

    def mods(self, cond):
        return self.adaLN(cond).chunk(6, -1)      # shift1, scale1, gate1, shift2, scale2, gate2


def attention(q, k, v, bias):
    """softmax(q k^T / sqrt(dh) + bias) v; bias broadcastable to [..., H, Nq, Nk]"""
    if hasattr(F, "scaled_dot_product_attention") and q.is_cuda:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
    return torch.softmax(s, -1) @ v


class DriftDiT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, P, T = cfg["hidden"], cfg["in_dim"], cfg["tokens"]
        self.patch_embed = nn.Linear(P, D)
        if cfg.get("previous_frame_input"):
            # The frame before, as the window keeps it (noised to the context level), embedded token by token
            # and added to this frame's tokens: carrying the picture on is then a per-token copy, which
            # attention over the window learns slowly (GameNGen and DIAMOND give the past frame as input
            # channels; an added embedding is the same thing for a linear first layer). Zero at the start.
            self.prev_embed = nn.Linear(P, D, bias=False)
            nn.init.zeros_(self.prev_embed.weight)
        self.pos_embed = nn.Parameter(torch.randn(T, D) * 0.02)
        self.t_embed = nn.Module()
        self.t_embed.fc1 = nn.Linear(FREQ_DIM, D)
        self.t_embed.fc2 = nn.Linear(D, D)
        self.text = nn.Module()
        self.text.embed = nn.Embedding(cfg["vocab_size"], cfg["text_dim"])
        nn.init.normal_(self.text.embed.weight, std=1.0)
        self.text.fc1 = nn.Linear(cfg["text_dim"], D)
        self.text.fc2 = nn.Linear(D, D)
        self.text.null = nn.Parameter(torch.zeros(D))
        self.blocks = nn.ModuleList([Block(D, cfg["heads"], cfg["mlp_ratio"]) for _ in range(cfg["depth"])])
        self.final = nn.Module()
        self.final.adaLN = nn.Linear(D, 2 * D)
        self.final.linear = nn.Linear(D, P)
        for m in (self.final.adaLN, self.final.linear):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
        if cfg.get("refiner"):
            assert cfg.get("prediction") == "x" and cfg.get("latent_factor", 1) >= 1 and cfg["kind"] == "video"
            self.refiner = Refiner(cfg)
        self.register_buffer("slopes", torch.tensor(cfg["alibi_slopes"], dtype=torch.float32), persistent=False)

    # ---- conditioning
    def text_cond(self, ids, lengths, drop=None):
        """ids [B, M] (padded), lengths [B]; rows with length 0 or drop=True get text.null. -> [B, D]"""
        e = self.text.embed(ids)                                        # [B, M, E]
        m = (torch.arange(ids.shape[1], device=ids.device)[None] < lengths[:, None]).float()
        mean = (e * m[..., None]).sum(1) / lengths.clamp(min=1)[:, None].float()
        te = self.text.fc2(F.silu(self.text.fc1(mean)))
        null = (lengths == 0) if drop is None else ((lengths == 0) | drop)
        return torch.where(null[:, None], self.text.null[None].expand_as(te), te)

    def cond(self, t, text):
        """t [...], text [B, D] broadcast over the frame dims -> [..., D]"""
        h = self.t_embed.fc2(F.silu(self.t_embed.fc1(timestep_embedding(t))))
        while text.dim() < h.dim():
            text = text.unsqueeze(-2)
        return h + text

    # ---- training / full-clip forward: x [B, L, T, P], t [B, L], text [B, D] -> v [B, L, T, P]
    def clip_bias(self, L, device):
        T, W = self.cfg["tokens"], self.cfg["window"]
        fi = torch.arange(L, device=device)
        age = (fi[:, None] - fi[None, :]).float()                          # query frame - key frame
        ok = (age >= 0) & (age <= W)
        b = -self.slopes.to(device)[:, None, None] * age[None]
        b = torch.where(ok[None], b, torch.full_like(b, float("-inf")))    # [H, L, L]
        return b.repeat_interleave(T, 1).repeat_interleave(T, 2)           # [H, LT, LT]

    def window_bias(self, n_past, device):
        """the ALiBi bias [H, 1, (n_past + 1) T] of a frame's queries over the keys of its n_past window frames
        and its own, oldest first (forward_frame's; clip_bias's finite entries for one query frame)"""
        age = torch.arange(n_past, -1, -1, device=device, dtype=torch.float32).repeat_interleave(self.cfg["tokens"])
        return -self.slopes[:, None, None] * age

    def clip_attention(self, q, k, v, biases):
        """attention(q, k, v, clip_bias(L)) frame by frame over the keys its bias leaves finite, biases[f] =
        window_bias of frame f: the same values without the masked half of the score matrix, whose softmax,
        bias and casts were a quarter of a CPU video training step. q, k, v [B, H, L T, dh]"""
        T = self.cfg["tokens"]
        q = q * (1.0 / math.sqrt(q.shape[-1]))
        out = []
        for f, bias in enumerate(biases):
            keys = slice((f + 1) * T - bias.shape[-1], (f + 1) * T)
            s = q[:, :, f * T:(f + 1) * T] @ k[:, :, keys].transpose(-1, -2) + bias
            out.append(torch.softmax(s, -1) @ v[:, :, keys])
        return torch.cat(out, 2)

    def embed(self, x, prev):
        """x [..., T, P] -> h [..., T, D]; prev: the frame before (same shape) or None (none: zeros)"""
        h = self.patch_embed(x) + self.pos_embed
        if prev is not None and self.cfg.get("previous_frame_input"):
            h = h + self.prev_embed(prev)
        return h

    def forward(self, x, t, text, prev=None):
        """x [B, L, T, P] a clip's noised frames, t [B, L]; prev [B, L, T, P]: each frame's "frame before" input
        (arch previous_frame_clean: the frames before as made, zeros for the first); None: each frame's
        predecessor in x, as the window keeps it"""
        B, L, T, _ = x.shape
        D = self.cfg["hidden"]
        c = self.cond(t, text)                                              # [B, L, D]
        # each frame's predecessor as the model saw it (its own noise level); the clip's first has none
        prev = frames_before(x) if prev is None else prev
        h = self.embed(x, prev)
        framewise = not x.is_cuda and T >= FRAMEWISE_MIN_TOKENS
        if framewise:
            biases = [self.window_bias(min(f, self.cfg["window"]), x.device) for f in range(L)]
        else:
            bias = self.clip_bias(L, x.device)
        for blk in self.blocks:
            s1, sc1, g1, s2, sc2, g2 = [m[:, :, None] for m in blk.mods(c)]
            a = layer_norm(h) * (1 + sc1) + s1
            q, k, v = blk.qkv_heads(a.reshape(B, L * T, D))
            o = self.clip_attention(q, k, v, biases) if framewise else attention(q, k, v, bias)
            o = o.transpose(1, 2).reshape(B, L, T, D)
            h = h + g1 * blk.attn.proj(o)
            a = layer_norm(h) * (1 + sc2) + s2
            h = h + g2 * blk.mlp_out(a)
        sh, sc = [m[:, :, None] for m in self.final.adaLN(c).chunk(2, -1)]
        out = self.final.linear(layer_norm(h) * (1 + sc) + sh)
        if self.cfg.get("refiner"):   # (never with previous_frame_clean: prev is frames_before(x) here)
            out = self.refiner(out.reshape(B * L, T, -1), x.reshape(B * L, T, -1), prev.reshape(B * L, T, -1),
                               t.reshape(B * L)).reshape(out.shape)
        return to_velocity(self.cfg, x, t, out, prev)

    # ---- streaming forward of one frame against a KV cache (reference / engine semantics)
    def forward_frame(self, x, t, text, cache, prev=None):
        """x [B, T, P], t [B], text [B, D]; cache: list (per layer) of list of (k, v) of past frames, oldest
        first, each [B, H, T, dh], at most `window` entries; prev [B, T, P]: the frame before as the window
        keeps it, or None (the stream's first frame). Returns (v [B, T, P], kv list of this frame)."""
        D = self.cfg["hidden"]
        B, T, _ = x.shape
        c = self.cond(t, text)                                              # [B, D]
        h = self.embed(x, prev)
        new_kv = []
        for li, blk in enumerate(self.blocks):
            s1, sc1, g1, s2, sc2, g2 = [m[:, None] for m in blk.mods(c)]
            a = layer_norm(h) * (1 + sc1) + s1
            q, k, v = blk.qkv_heads(a)
            new_kv.append((k, v))
            past = cache[li] if cache else []
            ks = torch.cat([kk for kk, _ in past] + [k], 2)
            vs = torch.cat([vv for _, vv in past] + [v], 2)
            s = q @ ks.transpose(-1, -2) / math.sqrt(q.shape[-1]) + self.window_bias(len(past), x.device)
            o = (torch.softmax(s, -1) @ vs).transpose(1, 2).reshape(B, T, D)
            h = h + g1 * blk.attn.proj(o)
            a = layer_norm(h) * (1 + sc2) + s2
            h = h + g2 * blk.mlp_out(a)
        sh, sc = [m[:, None] for m in self.final.adaLN(c).chunk(2, -1)]
        out = self.final.linear(layer_norm(h) * (1 + sc) + sh)
        if self.cfg.get("refiner"):
            out = self.refiner(out, x, prev, t)
        return to_velocity(self.cfg, x, t, out, prev), new_kv


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def flops_per_eval(cfg, n_past):
    """multiply-adds x2 of one model evaluation of one frame attending to n_past cached frames."""
    D, T, P, L = cfg["hidden"], cfg["tokens"], cfg["in_dim"], cfg["depth"]
    r, V = cfg["mlp_ratio"], cfg["text_dim"]
    mac = T * P * D * (2 if cfg.get("previous_frame_input") else 1)   # patch embed (+ the frame before)
    mac += FREQ_DIM * D + D * D                      # t embed (text cond is computed once per prompt)
    per_block = D * 6 * D + T * (3 * D * D + D * D + 2 * r * D * D) + 2 * T * (n_past + 1) * T * D
    mac += L * per_block
    mac += 2 * D * D + T * D * P                     # final
    if cfg.get("refiner"):                            # 3x3 convolutions on the latent grid
        mac += cfg["latent_height"] * cfg["latent_width"] * 9 * sum(i * o for i, o in refiner_channels(cfg))
    return 2 * mac
