"""Procedural sounds at 24 kHz, deterministic from a seed (torch; CPU or GPU).

A spec is {family, word, pitch, level, seed}; `render(specs, n_samples)` returns float32 mono PCM in
[-1, 1], shape [B, n_samples]. Each sample's random numbers come from its own torch.Generator.
"""
import math
import random

import torch

from vocab import AUDIO_FAMILIES, FILLER, LEVEL, PITCH

SR = 24000
SYNONYMS = {"rain": ["rain", "drops"], "wind": ["wind"], "surf": ["surf", "ocean", "waves", "sea"],
            "fire": ["fire", "crackling", "flames"], "drone": ["drone"], "chimes": ["chimes", "bells"],
            "engine": ["engine", "hum", "motor"]}
TARGET_RMS = 0.12


def random_spec(rng: random.Random, family=None):
    fam = family or rng.choice(AUDIO_FAMILIES)
    return {"family": fam, "word": rng.choice(SYNONYMS[fam]),
            "pitch": rng.choice(sorted(PITCH)) if rng.random() < 0.4 else None,
            "level": rng.choice(sorted(LEVEL)) if rng.random() < 0.4 else None,
            "filler": rng.choice(FILLER) if rng.random() < 0.1 else None,
            "seed": rng.getrandbits(62)}


def spec_prompt(spec):
    words = [spec.get("filler"), spec.get("level"), spec.get("pitch"), spec.get("word") or spec["family"]]
    return " ".join(w for w in words if w)


def _u(g, *shape, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64).float()


def _n(g, *shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64).float()


def _shaped_noise(g, n, gain_fn):
    """white noise shaped in the frequency domain by gain_fn(freq_hz) (circular, stationary)."""
    w = _n(g, n)
    W = torch.fft.rfft(w)
    f = torch.fft.rfftfreq(n, 1.0 / SR)
    y = torch.fft.irfft(W * gain_fn(f), n)
    return y / (y.std() + 1e-8)


def _impulses(g, n, rate, amp_fn):
    """sparse impulse train: Poisson with `rate` per second, amplitudes from amp_fn(k)."""
    k = max(1, int(rate * n / SR * 1.5) + 4)
    pos = (_u(g, k) * n).long().clamp(0, n - 1)
    keep = _u(g, k) < (rate * n / SR) / k
    x = torch.zeros(n)
    x.index_add_(0, pos, amp_fn(k) * keep.float())
    return x


def _conv(x, h):
    n = x.shape[0] + h.shape[0]
    return torch.fft.irfft(torch.fft.rfft(x, n) * torch.fft.rfft(h, n), n)[: x.shape[0]]


def gen_one(spec, n):
    fam = spec["family"]
    g = torch.Generator().manual_seed(spec["seed"] & 0x7FFFFFFFFFFFFFFF)
    p = PITCH.get(spec.get("pitch"), 1.0)
    lv = LEVEL.get(spec.get("level"), 1.0)
    pad = 4096
    N = n + pad
    tt = torch.arange(N, dtype=torch.float64) / SR + float(_u(g, 1, hi=100.0)[0])
    if fam == "rain":
        bed = _shaped_noise(g, N, lambda f: (f.clamp(min=50) / 1000.0) ** -0.4 * (f > 200).float())
        drops = _impulses(g, N, 300 * lv, lambda k: _n(g, k).abs() * 2.5)
        fc = 3000 * p
        kern = _n(g, 200) * torch.exp(-torch.arange(200) / (40.0 / p))
        kern = _conv(kern, torch.tensor([1.0, -0.9]))
        y = 0.45 * bed + _conv(drops, kern) * 0.6
        y = _conv(y, torch.tensor([1.0, 0.5 if fc < 3000 else -0.3]))
    elif fam == "wind":
        fc = float(_u(g, 1, lo=300, hi=700)[0]) * p
        y = _shaped_noise(g, N, lambda f: torch.exp(-((torch.log(f.clamp(min=20)) - math.log(fc)) / 0.45) ** 2))
        lfo = 0.65 + 0.35 * torch.sin(2 * math.pi * float(_u(g, 1, lo=0.3, hi=1.2)[0]) * tt + float(_u(g, 1, hi=6.3)[0]))
        y = y * lfo.float()
    elif fam == "surf":
        y = _shaped_noise(g, N, lambda f: 1.0 / (1 + (f / (700.0 * p)) ** 2) * (f > 30).float())
        sw = 0.55 + 0.45 * torch.sin(2 * math.pi * float(_u(g, 1, lo=0.08, hi=0.2)[0]) * tt) ** 2
        y = y * sw.float()
    elif fam == "fire":
        bed = _shaped_noise(g, N, lambda f: 1.0 / (1 + (f / (250.0 * p)) ** 2) * (f > 30).float())
        cr = _impulses(g, N, 40 * lv, lambda k: _n(g, k) * (1 + 4 * _u(g, k) ** 4))
        kern = _n(g, 64) * torch.exp(-torch.arange(64) / (6.0 / p))
        y = 0.5 * bed + _conv(cr, kern) * 1.2
    elif fam == "drone":
        f0 = float(_u(g, 1, lo=70, hi=130)[0]) * p
        y = torch.zeros(N, dtype=torch.float64)
        for voice, det in enumerate([1.0, 1.0 + float(_u(g, 1, lo=0.002, hi=0.006)[0])]):
            for k in range(1, 9):
                y += torch.sin(2 * math.pi * f0 * det * k * tt + float(_u(g, 1, hi=6.3)[0])) / k ** 1.2
        y = y.float()
    elif fam == "chimes":
        y = torch.zeros(N)
        span = N + 2 * SR
        for _ in range(int(3 * (span / SR) * min(lv, 1.3)) + 1):
            t0 = int(float(_u(g, 1)[0]) * span) - 2 * SR
            f0 = float(_u(g, 1, lo=500, hi=1200)[0]) * p
            dec = float(_u(g, 1, lo=0.4, hi=1.2)[0])
            a = float(_u(g, 1, lo=0.3, hi=1.0)[0])
            idx = torch.arange(N)
            rel = (idx - t0).double() / SR
            m = rel >= 0
            env = torch.where(m, torch.exp(-rel.clamp(min=0) / dec) * (1 - torch.exp(-rel.clamp(min=0) * 800)), torch.zeros_like(rel))
            s = sum(torch.sin(2 * math.pi * f0 * r * rel) / (1 + i) for i, r in enumerate([1.0, 2.76, 5.40, 8.93]))
            y = y + (a * env * s).float()
    elif fam == "engine":
        f0 = float(_u(g, 1, lo=110, hi=180)[0]) * p   # vocab.AUDIO_DATA_VERSION 2 says why
        ph = 2 * math.pi * f0 * tt + 0.3 * torch.sin(2 * math.pi * 0.7 * tt)
        y = torch.zeros(N, dtype=torch.float64)
        for k in range(1, 40):
            y += torch.sin(k * ph) / k * (1.0 / (1 + (k * f0 / 900.0) ** 2))
        am = 0.7 + 0.3 * torch.sin(ph / 2) ** 8
        y = (y * am).float() + 0.15 * _shaped_noise(g, N, lambda f: 1.0 / (1 + (f / 400.0) ** 2))
    else:
        raise ValueError(fam)
    y = y[pad:].float()
    y = y / (y.pow(2).mean().sqrt() + 1e-8) * TARGET_RMS * lv
    return y.clamp(-1, 1)


def render(specs, n_samples, device="cpu"):
    return torch.stack([gen_one(s, n_samples) for s in specs]).to(device)
