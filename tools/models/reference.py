"""drift reference sampler (fp32, CPU): the behaviour the C engine must reproduce.

  /usr/bin/python3 tools/models/reference.py sample --model models/drift-video.json --prompt "slow violet aurora" \
      --seed 7 --frames 48 --out out/aurora            # frame-000000.png ... (+ frames.f32 with --raw)
  /usr/bin/python3 tools/models/reference.py sample --model models/drift-audio.json --prompt "rain" --frames 24 --out out/rain
  /usr/bin/python3 tools/models/reference.py golden --out tests/fixtures/models [--case NAME|audio [--update-index]]

Streaming, per frame f (video frame or audio chunk):
  x  = noise(seed, f, stream 0)                      (or the next frame of --noise-file)
  x  = c x_start(f-1) + sqrt(1 - c^2) x  (f > 0)     c = sampler.noise_carry (0: fresh noise every frame);
                                                     x_start(f) is frame f's x here, before the sampler; with
                                                     noise_flow.* tensors and c > 0, x = the block sums of a
                                                     finer field carried and rolled instead (noise.py flow_*)
  for each sampler step: v = model(x, t, prompt, cache)   (CFG: v = vu + g (vc - vu), each branch its own cache)
  x0 = clamp(x, -1, 1)                               -> output (video: rgb = (x0+1)/2; audio: pcm = x0*scale)
  xc = (1 - tc) x0 + tc noise(seed, f, stream 1);  one more model pass at t = tc, its per-layer K/V appended
  to the cache (at most `window` past frames; the oldest is dropped).
"""
import argparse
import json
import math
import os
import struct
import sys
import wave
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import noise as N  # noqa: E402
import safetensors_io  # noqa: E402
from vocab import tokenize  # noqa: E402

torch.set_num_threads(1)  # fixed reduction order: same seed -> same bytes


def load(path):
    stem = path[:-5] if path.endswith(".json") else (path[:-12] if path.endswith(".safetensors") else path)
    conf = json.load(open(stem + ".json"))
    a = conf["arch"]
    kw = {k: a[k] for k in ("hidden", "depth", "heads", "mlp_ratio", "window", "patch", "text_dim", "alibi_slopes")}
    kw["prediction"] = a.get("prediction", "v")
    kw["previous_frame_input"] = bool(a.get("previous_frame_input", False))
    if a.get("previous_frame_clean"):
        kw["previous_frame_clean"] = True
    if a.get("previous_frame_residual"):
        kw["previous_frame_residual"] = True
    if a.get("refiner"):
        kw["refiner"] = {"channels": a["refiner"]["channels"], "layers": a["refiner"]["layers"]}
    if conf["kind"] == "video":
        v = conf["video"]
        lt = conf.get("latent")
        if lt:
            kw.update(latent_factor=lt["factor"], latent_channels=lt["channels"])
        cfg = M.video_config(len(conf["vocab"]), width=v["width"], height=v["height"], fps=v["fps"], **kw)
    else:
        au = conf["audio"]
        rep = au.get("representation", "pcm")
        if rep == "stft":
            kw.pop("patch")           # the hop: audio_config derives it from spectral.py
        else:
            kw["audio_scale"] = au["scale"]
        cfg = M.audio_config(len(conf["vocab"]), sample_rate=au["sample_rate"], chunk=au["chunk"],
                             representation=rep, **kw)
    net = M.DriftDiT(cfg)
    sd, _ = safetensors_io.load(stem + ".safetensors")
    conf["_spectral"] = {k.split(".")[1]: sd.pop(k).float().numpy() for k in list(sd) if k.startswith("spectral.")}
    conf["_decoder"] = {k: sd.pop(k).float() for k in list(sd) if k.startswith("decoder.")}
    conf["_noise_flow"] = {k.split(".")[1]: sd.pop(k).float() for k in list(sd) if k.startswith("noise_flow.")}
    net.load_state_dict(sd)
    net.eval()
    return net, conf


def decode(conf, latent):
    """a latent video model's decoder (conf["latent"]; tools/models/video_ae.py) as the engine runs it:
    latent [..., h, w, C] (normalised, HWC) -> pixels [..., H, W, 3] in model space (unclamped)"""
    lt, dec = conf["latent"], conf["_decoder"]
    lead = latent.shape[:-3]
    h = latent.reshape(-1, *latent.shape[-3:]).permute(0, 3, 1, 2)
    n_conv = sum(1 for layer in lt["decoder"]["layers"] if layer == "conv")
    i = 0
    for layer in lt["decoder"]["layers"]:
        if layer == "up":
            h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            continue
        w = dec[f"decoder.{i}.weight"]
        h = F.conv2d(h, w, dec[f"decoder.{i}.bias"], padding=w.shape[-1] // 2)
        i += 1
        if i < n_conv:
            h = F.silu(h)
    px = F.pixel_shuffle(h, lt["decoder"]["shuffle"]).permute(0, 2, 3, 1)
    return px.reshape(*lead, *px.shape[1:])


def sample_frame(f_eval, x, ts, sampler, trace=None):
    """integrate the flow ODE from ts[0]=1 to ts[-1]=0. f_eval(x, t) -> v. Returns x at t = 0."""
    def ev(xx, t):
        v = f_eval(xx, t)
        if trace is not None:
            trace.append((t, xx.clone(), v.clone()))
        return v
    S = len(ts) - 1
    if sampler == "euler":
        for i in range(S):
            x = x + (ts[i + 1] - ts[i]) * ev(x, ts[i])
        return x
    if sampler == "heun":
        for i in range(S):
            dt = ts[i + 1] - ts[i]
            v1 = ev(x, ts[i])
            xe = x + dt * v1
            if ts[i + 1] == 0.0:
                x = xe
            else:
                x = x + dt * 0.5 * (v1 + ev(xe, ts[i + 1]))
        return x
    if sampler == "dpmpp-2m":
        # data prediction D = x - t v; alpha = 1 - t, sigma = t, lambda = log(alpha / sigma)
        prev_x0, h_prev = None, None
        for i in range(S):
            tc, tn = ts[i], ts[i + 1]
            x0 = x - tc * ev(x, tc)
            if tn == 0.0:
                x = x0
                break
            h = math.log((1 - tn) / tn) - (math.log((1 - tc) / tc) if tc < 1.0 else -math.inf)
            if prev_x0 is None or not math.isfinite(h_prev):
                D = x0
            else:
                r = h_prev / h
                D = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * prev_x0
            em = (tn * (1 - tc)) / (tc * (1 - tn))        # exp(-h), 0 when tc = 1
            x = (tn / tc) * x + (1 - tn) * (1 - em) * D
            prev_x0, h_prev = x0, h
        return x
    raise ValueError(f"unknown sampler {sampler!r} (euler, dpmpp-2m, heun)")


class Stream:
    def __init__(self, net, conf, prompt="", seed=0, sampler=None, steps=None, guidance=None, shift=None,
                 context_t=None, negative_prompt="", noise_file=None, commit=None, noise_carry=None):
        self.net, self.conf, self.cfg = net, conf, net.cfg
        sd = conf["sampler"]
        self.sampler = sampler or sd["default"]
        self.steps = steps or sd["steps"]
        self.guidance = sd["guidance"] if guidance is None else guidance
        self.shift = sd["shift"] if shift is None else shift
        self.tc = sd["context_t"] if context_t is None else context_t
        self.carry = sd.get("noise_carry", 0.0) if noise_carry is None else noise_carry
        # steps at noise levels above it are not guided (f_eval: the conditional branch alone)
        self.guidance_t_max = sd.get("guidance_t_max", 1.0)
        self.start_prev = None   # the frame before's starting noise (noise_carry)
        self.fields = None        # the noise flow's fine fields of carried noise, one per stream
        self.flow_covered = None  # the noise flow's distance so far (noise.flow_step)
        # how a frame joins the window: "pass" (one more evaluation on the clean frame noised to
        # context_t) or "last-step" (the keys and values of the sampler's last evaluation)
        self.commit = commit or sd.get("commit", "pass")
        if self.commit not in ("pass", "last-step"):
            raise ValueError(f"commit {self.commit!r}: pass or last-step")
        self.last = {}   # branch -> (input, its kv) of the last evaluation
        # a list of prompts (with a list of seeds) runs a batch of independent streams (evaluation)
        self.batch = isinstance(prompt, list)
        prompts = prompt if self.batch else [prompt]
        self.seeds = (seed if isinstance(seed, list) else [seed] * len(prompts))
        self.seed = self.seeds[0]
        self.ts = M.schedule(self.steps, self.shift)
        self.text = torch.cat([self.encode(p) for p in prompts])
        neg = torch.cat([self.encode(negative_prompt)] * len(prompts))
        self.branches = [self.text] + ([neg] if self.guidance != 1.0 else [])
        self.caches = [[[] for _ in net.blocks] for _ in self.branches]
        self.prev = None   # the frame before as the window keeps it, or as made (arch.previous_frame_input, _clean)
        self.frame = 0
        self.n = self.cfg["tokens"] * self.cfg["in_dim"]
        self.noise_file = open(noise_file, "rb") if noise_file else None
        self.clip = conf["latent"]["clip"] if conf.get("latent") else 1.0   # the frame's value range
        self.evals = 0

    def encode(self, prompt):
        ids = tokenize(prompt)
        with torch.no_grad():
            return self.net.text_cond(torch.tensor([ids or [0]]), torch.tensor([len(ids)]))

    def to_tokens(self, flat):
        x = torch.from_numpy(np.ascontiguousarray(flat).copy())
        if self.cfg["kind"] == "video":
            c = self.cfg
            img = x.reshape(-1, c["latent_height"], c["latent_width"], c["latent_channels"])
            return M.patchify(img, c["patch"])
        return x.reshape(-1, self.cfg["tokens"], self.cfg["in_dim"])

    def from_tokens(self, tok, keep_batch=False):
        if self.cfg["kind"] == "video":
            c = self.cfg
            out = M.unpatchify(tok, c["patch"], c["latent_height"], c["latent_width"], c["latent_channels"])
        else:
            out = tok.reshape(tok.shape[0], -1)
        return out if keep_batch else out[0]

    def noise(self, stream, n=None):
        n = n or self.n
        if self.noise_file:
            raw = self.noise_file.read(4 * n)
            if len(raw) != 4 * n:
                raise ValueError("noise file too short")
            return np.frombuffer(raw, dtype="<f4")
        return np.stack([N.gaussian(s, self.frame, stream, n) for s in self.seeds])

    def flow_start(self, flow):
        """A model with a noise flow: each stream's fine field of noise carried from frame to frame and
        rolled with the prompt's velocity (noise.py flow_*); the frame starts from its block sums."""
        c, F = self.cfg, N.NOISE_FLOW_FINE
        shape = (c["latent_height"] * F, c["latent_width"] * F, c["latent_channels"])
        draws = self.noise(N.STREAM_INIT, F * F * self.n).reshape(-1, *shape)
        if self.fields is None:
            self.fields = draws.copy()
            self.flow_covered = torch.zeros(len(self.fields), 2, dtype=torch.long)
        else:
            units = N.flow_units(self.text @ flow["weight"].T + flow["bias"])
            self.flow_covered, moved = N.flow_step(self.flow_covered, units)
            self.fields = np.stack([N.flow_field_start(f, d, self.carry, m.tolist())
                                    for f, d, m in zip(self.fields, draws, moved)])
        return self.to_tokens(np.stack([N.flow_block_sums(f) for f in self.fields]))

    def model(self, x, t, b):
        tt = torch.full((x.shape[0],), float(t))
        v, kv = self.net.forward_frame(x, tt, self.branches[b], self.caches[b], self.prev)
        self.evals += 1
        self.last[b] = (x, kv)
        return v, kv

    def f_eval(self, x, t):
        vc, _ = self.model(x, t, 0)
        if len(self.branches) == 1:
            return vc
        guided = float(t) <= self.guidance_t_max
        if not guided and not (self.commit == "last-step" and float(t) == self.ts[-2]):
            # an unguided step (w = 1) is the conditional branch alone; the engine does not evaluate the
            # unconditional one unless the window keeps this evaluation's keys (the last step's, at ts[-2])
            return vc
        vu, _ = self.model(x, t, 1)
        w = self.guidance if guided else 1.0
        return vu + w * (vc - vu)

    def next(self, trace=None):
        """-> model-space output of the next frame: video [H, W, 3], audio [chunk], float32 in [-1, 1]"""
        with torch.no_grad():
            flow = self.conf.get("_noise_flow")
            if flow and self.carry > 0:
                x = self.flow_start(flow)
            else:
                x = self.to_tokens(self.noise(N.STREAM_INIT))
            if self.carry > 0 and self.start_prev is not None:
                x = N.carry(self.start_prev, x, self.carry)
            if not (flow and self.carry > 0):
                self.start_prev = x
            x0 = sample_frame(self.f_eval, x, self.ts, self.sampler, trace).clamp(-self.clip, self.clip)
            noise = self.to_tokens(self.noise(N.STREAM_CONTEXT))   # drawn either way (a noise file has it)
            xc = self.last[0][0] if self.commit == "last-step" else (1 - self.tc) * x0 + self.tc * noise
            for b in range(len(self.branches)):
                kv = self.last[b][1] if self.commit == "last-step" else self.model(xc, self.tc, b)[1]
                for li, c in enumerate(self.caches[b]):
                    c.append(kv[li])
                    if len(c) > self.cfg["window"]:
                        c.pop(0)
            self.prev = x0 if self.cfg.get("previous_frame_clean") else xc
        self.frame += 1
        out = self.from_tokens(x0, self.batch)
        if self.conf.get("latent"):   # the frame's latent stays in self.latent; the output is its decode
            self.latent = out
            with torch.no_grad():
                out = decode(self.conf, out)
        return out


DECLICK = 256


def declick(y, prev):
    """audio output post-filter (not fed back to the model): y [B, chunk] PCM of one chunk, prev [B] the last
    output sample of the previous chunk (None for chunk 0). y[n] += (prev - y[0]) * (1 - n/K), n < K = 256."""
    if prev is None:
        return y
    n = torch.arange(DECLICK, dtype=torch.float32)
    y = y.clone()
    y[:, :DECLICK] += (prev - y[:, 0])[:, None] * (1 - n / DECLICK)
    return y


def audio_pcm(conf, outs):
    """model-space chunks (list of [chunk values]) -> PCM of the whole stream, as the engine delivers it
    ([samples] mono, [samples, 2] stereo): "stft": the phase vocoder (spectral.Synth); "pcm": x * scale,
    then the declick."""
    if conf["audio"].get("representation", "pcm") == "stft":
        import spectral
        au = conf["audio"]
        syn = spectral.Synth(conf["_spectral"]["mean"], conf["_spectral"]["std"], au.get("channels", 1),
                             au.get("stereo_width", 0.0), au.get("noise_level", 1.0))
        return np.concatenate([syn.chunk(np.asarray(o, np.float32).reshape(-1, spectral.BINS)) for o in outs])
    prev, pcm = None, []
    for o in outs:
        y = declick(torch.as_tensor(o)[None] * conf["audio"]["scale"], prev)
        prev = y[:, -1]
        pcm.append(y[0].numpy())
    return np.concatenate(pcm)


def to_rgb8(x0):
    return np.floor(np.clip((x0.numpy().astype(np.float32) + 1) * 127.5, 0, 255) + 0.5).astype(np.uint8)


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def write_wav(path, pcm, sr):
    pcm16 = np.round(np.clip(pcm, -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1 if pcm16.ndim == 1 else pcm16.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm16.tobytes())


def cmd_sample(a):
    net, conf = load(a.model)
    st = Stream(net, conf, a.prompt, a.seed, a.sampler, a.steps, a.guidance, a.shift, a.context_t,
                a.negative_prompt, a.noise_file, a.commit, a.noise_carry)
    os.makedirs(a.out, exist_ok=True)
    outs = []
    for f in range(a.frames):
        x0 = st.next()
        outs.append(x0.numpy().astype("<f4"))
        if conf["kind"] == "video" and not a.no_png:
            write_png(os.path.join(a.out, f"frame-{f:06d}.png"), to_rgb8(x0))
    if a.raw:
        open(os.path.join(a.out, "frames.f32"), "wb").write(np.stack(outs).tobytes())
    if conf["kind"] == "audio":
        pcm = audio_pcm(conf, outs)
        write_wav(os.path.join(a.out, "audio.wav"), pcm, conf["audio"]["sample_rate"])
    print(f"{a.frames} frames, {st.evals} model evaluations -> {a.out}")


GOLDEN_SEED = 7
GOLDEN_CASES = {
    # name: model, prompt, sampler, steps, guidance, negative prompt, frames, trace frame 0, shift, context_t
    # (explicit, so that changing a model's sampler defaults does not change the fixtures)
    "video-euler": ("drift-video", "slow violet aurora", "euler", 3, 1.0, "", 6, True, 1.0, 0.05),
    "video-dpmpp-2m": ("drift-video", "fast orange flames", "dpmpp-2m", 4, 1.0, "", 2, False, 2.0, 0.05),
    "video-heun": ("drift-video", "water", "heun", 2, 1.0, "", 2, False, 1.0, 0.1),
    "video-cfg": ("drift-video", "red lava", "euler", 2, 3.0, "blue", 2, False, 1.0, 0.05),
    "video-empty": ("drift-video", "", "euler", 3, 1.0, "", 1, False, 1.0, 0.05),
    "audio-euler": ("drift-audio", "soft rain", "euler", 3, 1.0, "", 8, True, 1.0, 0.05),
    "audio-dpmpp-2m": ("drift-audio", "low drone", "dpmpp-2m", 4, 1.0, "", 3, False, 2.0, 0.05),
    "audio-heun": ("drift-audio", "chimes", "heun", 2, 1.0, "", 3, False, 1.0, 0.1),
    "audio-cfg": ("drift-audio", "loud engine", "euler", 3, 2.5, "", 3, False, 1.0, 0.05),
    # commit "last-step": the window keeps the sampler's last evaluation (an 11th field: commit)
    "video-last-step": ("drift-video", "fast orange flames", "euler", 3, 1.0, "", 5, False, 1.0, 0.05, "last-step"),
    "audio-last-step": ("drift-audio", "low drone", "euler", 3, 2.0, "", 6, False, 1.0, 0.05, "last-step"),
    # each frame's starting noise carries the one before's (a 12th field: noise_carry; 0 in all others)
    "video-noise-carry": ("drift-video", "slow violet aurora", "euler", 3, 1.0, "", 4, False, 1.0, 0.05,
                          "last-step", 0.9),
    # the same with the model's noise flow moving the carried noise about a cell per frame (up)
    "video-noise-flow": ("drift-video", "fast orange flames", "euler", 3, 1.0, "", 5, False, 1.0, 0.05,
                         "last-step", 0.95),
}


def f32(path, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    open(path, "wb").write(arr.tobytes())
    return {"file": os.path.basename(path), "shape": list(arr.shape), "dtype": "f32le"}


SPECTRAL_SOUNDS = (("drone", "low"), ("rain", None), ("chimes", "high"))
SPECTRAL_WIDTH = 0.75   # the stereo case of the synthesiser's golden stream (interleaved L, R)


def golden_spectral(out):
    """The synthesiser alone (engine/src/spectral.c), independent of any trained model: 16 STFT frames
    each of a low drone, rain and high chimes (procedural data), normalised with their own per-bin
    statistics; the reference's magnitudes and PCM of the whole 48-frame stream."""
    import datagen_audio
    import spectral as S
    n = 15 * S.HOP + S.N_FFT
    lms = []
    for i, (fam, pitch) in enumerate(SPECTRAL_SOUNDS):
        spec = {"family": fam, "word": fam, "pitch": pitch, "level": None, "seed": 4242 + i}
        lms.append(S.log_magnitudes(datagen_audio.gen_one(spec, n)))
    lm = torch.cat(lms)
    mean, std = lm.mean(0), lm.std(0).clamp(min=0.05)
    tokens = S.to_model(lm, mean, std).numpy()
    syn = S.Synth(mean.numpy(), std.numpy())
    mags = np.stack([syn.magnitudes(t) for t in tokens])
    pcm = np.concatenate([syn.frame(t) for t in tokens])
    st = S.Synth(mean.numpy(), std.numpy(), 2, SPECTRAL_WIDTH)
    stereo = np.concatenate([st.frame(t) for t in tokens])
    return {"n_fft": S.N_FFT, "hop": S.HOP, "floor": S.FLOOR, "spread": S.SPREAD, "frames": len(tokens),
            "sounds": [" ".join(w for w in (p, f) if w) for f, p in SPECTRAL_SOUNDS],
            "mean": f32(os.path.join(out, "spectral.mean.f32"), mean.numpy()),
            "std": f32(os.path.join(out, "spectral.std.f32"), std.numpy()),
            "tokens": f32(os.path.join(out, "spectral.tokens.f32"), tokens),
            "magnitudes": f32(os.path.join(out, "spectral.magnitudes.f32"), mags),
            "pcm": f32(os.path.join(out, "spectral.pcm.f32"), pcm),
            "stereo_width": SPECTRAL_WIDTH,
            "pcm_stereo": f32(os.path.join(out, "spectral.pcm-stereo.f32"), stereo)}


def cmd_golden(a):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    os.makedirs(a.out, exist_ok=True)
    index = {"seed": GOLDEN_SEED, "note": "raw little-endian float32; frames in model space ([-1,1]); "
             "video HWC; audio: the model's tokens (stft: chunk/hop STFT frames of n_fft/2+1 values; pcm: "
             "samples), and pcm = what the engine delivers (reference.audio_pcm)", "cases": {}}
    cases = ([c for c in GOLDEN_CASES if c.startswith("audio-")] if a.case == "audio" else
             [a.case] if a.case else list(GOLDEN_CASES))
    if not a.case or a.case in ("spectral", "audio"):
        index["spectral"] = golden_spectral(a.out)
        print("spectral: synthesiser case", flush=True)
    for name in cases if a.case != "spectral" else []:  # noqa: B007
        mname, prompt, sampler, steps, g, neg, frames, tr, shift, tc, *rest = GOLDEN_CASES[name]
        commit = rest[0] if rest else "pass"
        carry = rest[1] if len(rest) > 1 else 0.0
        net, conf = load(os.path.join(root, "models", mname + ".json"))
        st = Stream(net, conf, prompt, GOLDEN_SEED, sampler, steps, g, shift, tc, neg, commit=commit,
                    noise_carry=carry)
        trace = [] if tr else None
        outs = [st.next(trace if f == 0 else None).numpy() for f in range(frames)]
        e = {"model": f"models/{mname}.json", "prompt": prompt, "negative_prompt": neg, "seed": GOLDEN_SEED,
             "sampler": sampler, "steps": steps, "guidance": g, "shift": st.shift, "context_t": st.tc,
             "commit": commit, "noise_carry": carry,
             "schedule": st.ts, "frames": frames, "evals": st.evals,
             "output": f32(os.path.join(a.out, f"{name}.frames.f32"), np.stack(outs))}
        flow = conf.get("_noise_flow")
        if carry > 0 and flow:   # what the model's noise flow does in this case (latent cells / 256 per frame)
            e["noise_flow_units"] = N.flow_units(st.text @ flow["weight"].T + flow["bias"])[0].tolist()
        if conf["kind"] == "audio":
            e["pcm"] = f32(os.path.join(a.out, f"{name}.pcm.f32"), audio_pcm(conf, outs))
        if tr:
            shp = list(st.latent.shape) if conf.get("latent") else list(outs[0].shape)   # noise is drawn in model space
            N0 = lambda s: N.gaussian(GOLDEN_SEED, 0, s, st.n).reshape(shp)  # noqa: E731
            e["noise_frame0"] = f32(os.path.join(a.out, f"{name}.noise0.f32"), np.stack([N0(0), N0(1)]))
            e["text_cond"] = f32(os.path.join(a.out, f"{name}.text.f32"), st.text[0].numpy())
            e["trace_frame0"] = {"t": [float(t) for t, _, _ in trace],
                                 "x_in": f32(os.path.join(a.out, f"{name}.trace-x.f32"),
                                             np.stack([st.from_tokens(x).numpy() for _, x, _ in trace])),
                                 "v": f32(os.path.join(a.out, f"{name}.trace-v.f32"),
                                          np.stack([st.from_tokens(v).numpy() for _, _, v in trace]))}
        index["cases"][name] = e
        print(f"{name}: {frames} frames, {st.evals} evals", flush=True)
    path = os.path.join(a.out, "index.json")
    if a.case and a.update_index and os.path.exists(path):   # one case (or "audio") renewed in place
        old = json.load(open(path))
        old["note"] = index["note"]
        old.setdefault("cases", {}).update(index["cases"])
        if "spectral" in index:
            old["spectral"] = index["spectral"]
        index = old
    if not a.case or a.update_index:
        with open(path, "w") as f:
            json.dump(index, f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--model", required=True)
    s.add_argument("--prompt", default="")
    s.add_argument("--negative-prompt", default="")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--frames", type=int, default=24)
    s.add_argument("--sampler")
    s.add_argument("--steps", type=int)
    s.add_argument("--guidance", type=float)
    s.add_argument("--shift", type=float)
    s.add_argument("--context-t", type=float)
    s.add_argument("--commit", choices=["pass", "last-step"], help="default: the model's sampler.commit")
    s.add_argument("--noise-carry", type=float, help="default: the model's sampler.noise_carry (0: none)")
    s.add_argument("--noise-file", help="raw f32: per frame the init noise then the context noise")
    s.add_argument("--raw", action="store_true", help="also write frames.f32 (model space)")
    s.add_argument("--no-png", action="store_true")
    s.add_argument("--out", required=True)
    gd = sub.add_parser("golden")
    gd.add_argument("--out", required=True)
    gd.add_argument("--case", choices=sorted(GOLDEN_CASES) + ["spectral", "audio"],
                    help="one case; audio = every audio case and the synthesiser's")
    gd.add_argument("--update-index", action="store_true", help="with --case: renew its entries in OUT/index.json")
    a = ap.parse_args()
    try:
        (cmd_sample if a.cmd == "sample" else cmd_golden)(a)
    except ValueError as e:
        print(f"reference.py: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
