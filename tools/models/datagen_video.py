"""Procedural video scenes, deterministic from a seed (torch; runs on CPU or GPU).

A *spec* is a dict {family, color, speed, scale, density, seed, t0} (modifier values are words or None);
`spec_prompt(spec)` is its prompt. `render(specs, n_frames, size, fps)` returns float32 frames in
[0, 1], shape [B, n_frames, H, W, 3] (HWC, RGB). Each sample's random parameters come from its own
torch.Generator seeded with spec["seed"], so a batch renders the same whatever its composition.
"""
import math
import random

import torch

from vocab import COLORS, DENSITY, FILLER, SCALES, SPEEDS, VIDEO_FAMILIES

DEFAULT_COLOR = {"flames": "orange", "water": "cyan", "clouds": "blue", "plasma": "pink", "stars": "white",
                 "aurora": "green", "rain": "blue", "lava": "red", "ocean": "blue", "smoke": "white"}
SYNONYMS = {"flames": ["flames", "fire"], "water": ["water", "caustics"], "clouds": ["clouds", "sky"],
            "plasma": ["plasma"], "stars": ["stars", "starfield", "space"], "aurora": ["aurora"],
            "rain": ["rain", "drops", "glass"], "lava": ["lava", "lamp", "blobs"],
            "ocean": ["ocean", "waves", "sea"], "smoke": ["smoke"]}


def random_spec(rng: random.Random, family=None):
    fam = family or rng.choice(VIDEO_FAMILIES)
    return {"family": fam,
            "word": rng.choice(SYNONYMS[fam]),
            "color": rng.choice(sorted(COLORS)) if rng.random() < 0.6 else None,
            "speed": rng.choice(sorted(SPEEDS)) if rng.random() < 0.4 else None,
            "scale": rng.choice(sorted(SCALES)) if rng.random() < 0.3 else None,
            "density": rng.choice(sorted(DENSITY)) if fam in ("stars", "rain") and rng.random() < 0.3 else None,
            "filler": rng.choice(FILLER) if rng.random() < 0.1 else None,
            "seed": rng.getrandbits(62), "t0": rng.uniform(0.0, 200.0)}


def spec_prompt(spec):
    words = [spec.get(k) for k in ("speed", "scale", "density", "color")]
    if spec.get("filler"):
        words.insert(0, spec["filler"])
    words.append(spec.get("word") or spec["family"])
    return " ".join(w for w in words if w)


def _u(g, *shape, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64).float()


def _sines(k, w, phi, X, Y, t):
    """sum_k sin(k.x + w t + phi) / sqrt(K); k [b,K,2], w/phi [b,K], t [b,L] -> [b,L,H,W]"""
    b, K = w.shape
    out = 0
    for i in range(K):  # loop keeps memory at [b,L,H,W]
        a = (k[:, i, 0, None, None] * X + k[:, i, 1, None, None] * Y)[:, None]      # [b,1,H,W]
        a = a + (w[:, i, None] * t + phi[:, i, None])[:, :, None, None]
        out = out + torch.sin(a)
    return out / math.sqrt(K)


def _rand_waves(g, K, fmin, fmax, wmax):
    ang = _u(g, K, lo=0, hi=2 * math.pi)
    f = fmin * (fmax / fmin) ** _u(g, K)
    k = torch.stack([f * torch.cos(ang), f * torch.sin(ang)], -1) * 2 * math.pi
    return k, _u(g, K, lo=-wmax, hi=wmax), _u(g, K, lo=0, hi=2 * math.pi)


def _smooth(e0, e1, x):
    x = ((x - e0) / (e1 - e0)).clamp(0, 1)
    return x * x * (3 - 2 * x)


def _c(col):  # [b,3] -> [b,1,1,1,3]
    return col[:, None, None, None, :]


def _k(vals, ref):
    return torch.tensor(vals, dtype=torch.float32, device=ref.device)


# ---- families: params(g, spec) -> dict of tensors; draw(P, t, X, Y, col, spec-derived tensors) -> [b,L,H,W,3]

def p_waves(g, K, fmin, fmax, wmax):
    k, w, phi = _rand_waves(g, K, fmin, fmax, wmax)
    return {"k": k, "w": w, "phi": phi}


def fam_flames(P, t, X, Y, col, sc):
    Yu = Y[None, None] + 0.35 * t[:, :, None, None]            # pattern rises
    n = 0
    for i in range(P["w"].shape[1]):
        a = P["k"][:, i, 0, None, None, None] * sc[:, None, None, None] * X + \
            P["k"][:, i, 1, None, None, None] * sc[:, None, None, None] * Yu + \
            (P["w"][:, i, None] * t + P["phi"][:, i, None])[:, :, None, None]
        n = n + torch.sin(a).abs()
    n = n / P["w"].shape[1]
    I = (Y * 1.25 - 0.45 + 1.1 * (n - 0.55) + 0.25 * (1 - (2 * X - 1).abs())).clamp(0, 1)
    I = I ** 1.3
    rgb = _c(col) * _smooth(0.0, 0.55, I)[..., None] + _k([1.0, 0.95, 0.75], X) * _smooth(0.55, 1.0, I)[..., None] * 0.9
    return rgb


def fam_water(P, t, X, Y, col, sc):
    s = sc[:, None, None, None]
    c1 = torch.exp(-(2.2 * _sines(P["k"] * s[:, :, 0], P["w"], P["phi"], X, Y, t)) ** 2)
    c2 = torch.exp(-(2.2 * _sines(P["k2"] * s[:, :, 0], P["w2"], P["phi2"], X, Y, t)) ** 2)
    cau = (c1 * 0.6 + c2 * 0.6) ** 1.5
    base = _c(col) * 0.35 * (0.8 + 0.2 * Y)[None, None, ..., None]
    return base + (_c(col) * 0.5 + 0.5) * cau[..., None]


def fam_clouds(P, t, X, Y, col, sc):
    Xs = X[None, None] + 0.04 * t[:, :, None, None]
    n = 0
    for i in range(P["w"].shape[1]):
        a = (P["k"][:, i, 0, None, None, None] * Xs + P["k"][:, i, 1, None, None, None] * Y) * sc[:, None, None, None] + \
            (P["w"][:, i, None] * t + P["phi"][:, i, None])[:, :, None, None]
        n = n + torch.sin(a) * P["amp"][:, i, None, None, None]
    d = _smooth(0.0, 0.9, n + P["cover"][:, None, None, None])
    sky = _c(col) * (0.55 + 0.35 * Y)[None, None, ..., None] + 0.15
    cloud = _k([0.97, 0.97, 1.0], X) * (0.8 + 0.2 * (1 - d))[..., None]
    return sky * (1 - d[..., None]) + cloud * d[..., None]


def fam_plasma(P, t, X, Y, col, sc):
    f = P["f"][:, None, None, None] * sc[:, None, None, None]
    tt = t[:, :, None, None]
    cx, cy = P["cx"][:, None, None, None], P["cy"][:, None, None, None]
    v = torch.sin(X * f + tt * 1.1) + torch.sin(Y * f * 0.8 + tt * 0.7) + torch.sin((X + Y) * f * 0.6 + tt * 1.3) + \
        torch.sin(torch.sqrt((X - cx) ** 2 + (Y - cy) ** 2 + 1e-4) * f * 1.4 - tt * 1.7)
    a = 0.5 + 0.5 * torch.sin(math.pi * v * 0.6)
    b = 0.5 + 0.5 * torch.sin(math.pi * v * 0.6 + 2.1)
    return _c(col) * a[..., None] + (1 - _c(col)) * (b[..., None] * 0.45)


def fam_stars(P, t, X, Y, col, sc):
    z = torch.remainder(P["z"][:, None, :] - 0.15 * t[:, :, None], 1.0) + 0.03     # [b,L,N]
    px = 0.5 + P["sx"][:, None, :] * 0.25 / z
    py = 0.5 + P["sy"][:, None, :] * 0.25 / z
    sig = (0.005 + 0.014 * (1 - z)) / sc[:, None, None].clamp(0.8, 1.3)
    br = (1.3 - z).clamp(0, 1) * P["on"][:, None, :] * 1.6
    I = 0
    for i in range(z.shape[2]):
        d2 = (X - px[:, :, i, None, None]) ** 2 + (Y - py[:, :, i, None, None]) ** 2
        I = I + br[:, :, i, None, None] * torch.exp(-d2 / (2 * sig[:, :, i, None, None] ** 2))
    I = I.clamp(0, 1.5)
    bg = _k([0.02, 0.02, 0.07], X)
    return bg + (_c(col) * 0.7 + 0.3) * I[..., None]


def fam_aurora(P, t, X, Y, col, sc):
    s = sc[:, None, None, None]
    I = 0
    for j in range(3):
        edge = P["y0"][:, j, None, None, None] + 0.08 * _sines(P["k"][:, j] * s[:, :, 0], P["w"][:, j], P["phi"][:, j],
                                                              X, torch.zeros_like(Y), t)
        dy = edge - Y[None, None]
        curtain = torch.where(dy > 0, torch.exp(-dy * P["fall"][:, j, None, None, None]), torch.exp(dy * 40))
        rays = 0.65 + 0.35 * torch.sin(X * P["ray"][:, j, None, None, None] * s + 0.8 * t[:, :, None, None] * P["w"][:, j, :1, None, None])
        I = I + curtain * rays * P["amp"][:, j, None, None, None]
    I = I.clamp(0, 1.3)
    sky = _k([0.01, 0.02, 0.06], X) + _k([0.0, 0.02, 0.05], X) * Y[None, None, ..., None]
    top = _k([0.55, 0.15, 0.65], X)
    mix = _smooth(0.0, 0.6, 0.45 - Y)[None, None, ..., None]
    return sky + I[..., None] * (_c(col) * (1 - mix * 0.5) + top * mix * 0.5)


def fam_rain(P, t, X, Y, col, sc):
    bg = 0.25 + 0.18 * _sines(P["k"], P["w"] * 0.1, P["phi"], X, Y, t)
    rgb = (_c(col) * 0.55 + 0.12) * bg[..., None]
    N = P["x"].shape[1]
    yy = torch.remainder(P["y"][:, None, :] + P["v"][:, None, :] * t[:, :, None], 1.3) - 0.15    # [b,L,N]
    r = (P["r"][:, None, :] / sc[:, None, None].clamp(0.6, 1.7))
    D = 0
    for i in range(N):
        dx = (X - P["x"][:, i, None, None, None]) / r[:, :, i, None, None]
        dy = (Y - yy[:, :, i, None, None]) / (r[:, :, i, None, None] * 1.3)
        drop = torch.exp(-(dx ** 2 + dy ** 2) ** 2) * P["on"][:, i, None, None, None]
        trail_y = (yy[:, :, i, None, None] - Y)
        trail = torch.exp(-(dx * 2.5) ** 2) * ((trail_y > 0) & (trail_y < 0.25)).float() * torch.exp(-trail_y * 8) * 0.45
        D = D + drop + trail * P["on"][:, i, None, None, None]
    D = D.clamp(0, 1)[..., None]
    return rgb * (1 - 0.5 * D) + D * (0.35 + 0.55 * _c(col) * 0.5 + 0.25)


def fam_lava(P, t, X, Y, col, sc):
    tt = t[:, :, None]
    cx = P["ax"][:, None, :] + 0.12 * torch.sin(P["wx"][:, None, :] * tt + P["px"][:, None, :])
    cy = 0.5 + 0.38 * torch.sin(P["wy"][:, None, :] * tt + P["py"][:, None, :])
    F = 0
    for i in range(cx.shape[2]):
        d2 = (X - cx[:, :, i, None, None]) ** 2 + (Y - cy[:, :, i, None, None]) ** 2
        rr = P["r"][:, i, None, None, None] / sc[:, None, None, None]
        F = F + rr ** 2 / (d2 + 1e-3)
    blob = _smooth(0.85, 1.15, F)[..., None]
    shade = (0.65 + 0.35 * _smooth(1.0, 3.0, F))[..., None]
    bg = (1 - _c(col)) * 0.18 + 0.05
    glow = _c(col) * 0.25 * _smooth(0.3, 0.85, F)[..., None]
    return bg * (1 - blob) + glow * (1 - blob) + blob * _c(col) * shade + blob * 0.08


def fam_ocean(P, t, X, Y, col, sc):
    yh = P["yh"][:, None, None, None]
    depth = 1.0 / (Y[None, None] - yh).clamp(min=0.015)
    u = (X[None, None] - 0.5) * depth * 0.35 * sc[:, None, None, None]
    v = depth * 0.35 * sc[:, None, None, None]
    h = 0
    for i in range(P["w"].shape[1]):
        h = h + torch.sin(P["k"][:, i, 0, None, None, None] * u + P["k"][:, i, 1, None, None, None].abs() * v -
                          (P["w"][:, i, None].abs() + 1.0)[:, :, None, None] * t[:, :, None, None] + P["phi"][:, i, None, None, None])
    h = h / math.sqrt(P["w"].shape[1])
    sea = _c(col) * (0.25 + 0.22 * h[..., None]) + 0.03
    foam = _smooth(0.9, 1.5, h)[..., None] * 0.8
    sea = sea + foam
    sky = _k([0.75, 0.82, 0.95], X) * (0.6 + 0.4 * Y[None, None, ..., None] / yh[..., None].clamp(min=0.05)) * 0.8 + _c(col) * 0.1
    m = (Y[None, None] > yh).float()[..., None]
    return sea * m + sky * (1 - m)


def fam_smoke(P, t, X, Y, col, sc):
    s = sc[:, None, None, None]
    Yu = Y[None, None] + 0.12 * t[:, :, None, None]
    warp = 0.08 * _sines(P["k2"], P["w2"], P["phi2"], X, Y, t)
    n = 0
    for i in range(P["w"].shape[1]):
        a = (P["k"][:, i, 0, None, None, None] * (X + warp) + P["k"][:, i, 1, None, None, None] * Yu) * s + \
            (P["w"][:, i, None] * t + P["phi"][:, i, None])[:, :, None, None]
        n = n + torch.sin(a) * P["amp"][:, i, None, None, None]
    col_mask = torch.exp(-((X - P["x0"][:, None, None, None] - warp * 2) / (0.12 + 0.5 * (1.05 - Y))) ** 2)
    d = (_smooth(-0.2, 0.9, n) * col_mask * (0.3 + 0.7 * Y)).clamp(0, 1)
    bg = _k([0.04, 0.04, 0.05], X)
    return bg + (1.6 * d[..., None]).clamp(0, 1) * (0.45 * _c(col) + 0.5)


def _params(fam, g, spec):
    dens = DENSITY.get(spec.get("density"), 0.7)
    if fam == "flames":
        return p_waves(g, 6, 2.0, 6.0, 3.0)
    if fam == "water":
        p = p_waves(g, 5, 2.0, 4.5, 1.2)
        k2, w2, phi2 = _rand_waves(g, 5, 2.0, 4.5, 1.2)
        p.update(k2=k2, w2=w2, phi2=phi2)
        return p
    if fam == "clouds":
        p = p_waves(g, 8, 1.0, 8.0, 0.15)
        p["amp"] = 1.0 / (p["k"].norm(dim=-1) / (2 * math.pi)) ** 0.9
        p["amp"] = p["amp"] / p["amp"].sum() * 1.8
        p["cover"] = _u(g, 1, lo=-0.2, hi=0.4)[0]
        return p
    if fam == "plasma":
        return {"f": _u(g, 1, lo=6.0, hi=11.0)[0], "cx": _u(g, 1)[0], "cy": _u(g, 1)[0]}
    if fam == "stars":
        N = 60
        return {"z": _u(g, N), "sx": _u(g, N, lo=-1, hi=1), "sy": _u(g, N, lo=-1, hi=1),
                "on": (_u(g, N) < dens).float()}
    if fam == "aurora":
        k, w, phi = zip(*[_rand_waves(g, 4, 0.7, 3.0, 0.5) for _ in range(3)])
        for kk in k:
            kk[:, 1] = 0
        return {"k": torch.stack(k), "w": torch.stack(w), "phi": torch.stack(phi), "y0": _u(g, 3, lo=0.3, hi=0.7),
                "fall": _u(g, 3, lo=3.0, hi=9.0), "ray": _u(g, 3, lo=30, hi=90), "amp": _u(g, 3, lo=0.3, hi=0.8)}
    if fam == "rain":
        p = p_waves(g, 4, 0.5, 2.0, 1.0)
        N = 24
        p.update(x=_u(g, N), y=_u(g, N, lo=0, hi=1.3), v=_u(g, N, lo=0.05, hi=0.4), r=_u(g, N, lo=0.012, hi=0.035),
                 on=(_u(g, N) < dens).float())
        return p
    if fam == "lava":
        N = 6
        return {"ax": _u(g, N, lo=0.25, hi=0.75), "wx": _u(g, N, lo=0.1, hi=0.4), "px": _u(g, N, hi=6.3),
                "wy": _u(g, N, lo=0.15, hi=0.45), "py": _u(g, N, hi=6.3), "r": _u(g, N, lo=0.05, hi=0.1)}
    if fam == "ocean":
        p = p_waves(g, 6, 2.0, 7.0, 2.0)
        p["yh"] = _u(g, 1, lo=0.25, hi=0.45)[0]
        return p
    if fam == "smoke":
        p = p_waves(g, 7, 2.0, 9.0, 1.0)
        p["amp"] = 1.0 / (p["k"].norm(dim=-1) / (2 * math.pi))
        p["amp"] = p["amp"] / p["amp"].sum() * 1.6
        k2, w2, phi2 = _rand_waves(g, 3, 1.0, 3.0, 1.0)
        p.update(k2=k2, w2=w2, phi2=phi2, x0=_u(g, 1, lo=0.3, hi=0.7)[0])
        return p
    raise ValueError(fam)


FAMILY_FN = {"flames": fam_flames, "water": fam_water, "clouds": fam_clouds, "plasma": fam_plasma, "stars": fam_stars,
             "aurora": fam_aurora, "rain": fam_rain, "lava": fam_lava, "ocean": fam_ocean, "smoke": fam_smoke}


def render(specs, n_frames, size=128, fps=24.0, device="cpu", frame_offset=0):
    """-> float32 [B, n_frames, size, size, 3] in [0, 1]; frame k is at time t0 + (frame_offset+k)/fps*speed."""
    B = len(specs)
    out = torch.empty(B, n_frames, size, size, 3, device=device)
    lin = (torch.arange(size, dtype=torch.float32, device=device) + 0.5) / size
    Y, X = torch.meshgrid(lin, lin, indexing="ij") if "indexing" in torch.meshgrid.__code__.co_varnames else torch.meshgrid(lin, lin)
    groups = {}
    for i, s in enumerate(specs):
        groups.setdefault(s["family"], []).append(i)
    for fam, idx in groups.items():
        Ps = []
        for i in idx:
            g = torch.Generator().manual_seed(specs[i]["seed"] & 0x7FFFFFFFFFFFFFFF)
            Ps.append(_params(fam, g, specs[i]))
        P = {k: torch.stack([p[k] for p in Ps]).to(device) for k in Ps[0]}
        sp = torch.tensor([SPEEDS.get(specs[i].get("speed"), 1.0) * specs[i]["t0"] * 0 + SPEEDS.get(specs[i].get("speed"), 1.0)
                           for i in idx], dtype=torch.float64)
        t0 = torch.tensor([specs[i]["t0"] for i in idx], dtype=torch.float64)
        k = torch.arange(frame_offset, frame_offset + n_frames, dtype=torch.float64)
        t = ((t0[:, None] + k[None, :] / fps) * sp[:, None]).float().to(device)
        sc = torch.tensor([SCALES.get(specs[i].get("scale"), 1.0) for i in idx], device=device)
        col = torch.tensor([COLORS[specs[i].get("color") or DEFAULT_COLOR[fam]] for i in idx], device=device)
        with torch.no_grad():
            img = FAMILY_FN[fam](P, t, X, Y, col, sc)
        out[idx] = img.to(device).clamp(0, 1).expand(len(idx), n_frames, size, size, 3)
    return out
